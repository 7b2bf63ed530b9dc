/** The executions list's filters: workflow, status, created after / before, and the search box. */
import { useState, type FormEvent } from 'react';
import { EXECUTION_STATUSES, type WorkflowInfo } from '../api/types';

export interface Filters {
  workflow?: string;
  status?: string;
  createdAfter?: string;
  createdBefore?: string;
  search?: string;
}

interface Props {
  filters: Filters;
  workflows: WorkflowInfo[];
  onChange: (filters: Filters) => void;
}

export function ExecutionFilters({ filters, workflows, onChange }: Props) {
  const [search, setSearch] = useState(filters.search ?? '');
  const names = [...new Set(workflows.map((w) => w.name))].sort();
  const set = (patch: Filters) => onChange({ ...filters, ...patch });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set({ search: search.trim() || undefined });
  };
  const active = Object.values(filters).some(Boolean);

  return (
    <div className="filters">
      <form className="search" onSubmit={submit} role="search">
        <input
          type="search"
          placeholder="Execution id or idempotency key"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-testid="search-input"
          aria-label="Search"
        />
        <button type="submit" className="btn btn-primary" data-testid="search-button">
          Search
        </button>
      </form>
      <label>
        Workflow
        <select value={filters.workflow ?? ''} onChange={(e) => set({ workflow: e.target.value || undefined })} data-testid="filter-workflow">
          <option value="">All</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={filters.status ?? ''} onChange={(e) => set({ status: e.target.value || undefined })} data-testid="filter-status">
          <option value="">All</option>
          {EXECUTION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Created after
        <input
          type="datetime-local"
          step="1"
          value={filters.createdAfter ?? ''}
          onChange={(e) => set({ createdAfter: e.target.value || undefined })}
          data-testid="filter-created-after"
        />
      </label>
      <label>
        Created before
        <input
          type="datetime-local"
          step="1"
          value={filters.createdBefore ?? ''}
          onChange={(e) => set({ createdBefore: e.target.value || undefined })}
          data-testid="filter-created-before"
        />
      </label>
      {active && (
        <button
          type="button"
          className="btn btn-link"
          onClick={() => {
            setSearch('');
            onChange({});
          }}
          data-testid="filter-clear"
        >
          Clear
        </button>
      )}
    </div>
  );
}

/** datetime-local gives local time without a zone; the API wants an instant. */
export function toIso(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
