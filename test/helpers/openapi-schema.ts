/**
 * The HTTP API tests' check that an answer is what the OpenAPI document says: its component schemas
 * compiled once (Ajv, JSON Schema 2020-12, with the uuid and date-time formats), and the document itself
 * for the tests that compare its paths with the routes served.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../src/server/openapi.js';

/** The bearer token the API tests start their servers with. */
export const TOKEN = 'test-token-0123456789abcdef';

export const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, object> } };
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'aries', components: doc.components });
ajv.addFormat('uuid', /^[0-9a-f-]{36}$/i).addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));

/** Throws, naming the schema and what did not match, unless `value` is a valid `name` (components.schemas). */
export function expectSchema(name: string, value: unknown): void {
  const validate = ajv.getSchema(`aries#/components/schemas/${name}`)!;
  if (!validate(value)) throw new Error(`${name} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 500)}`);
}
