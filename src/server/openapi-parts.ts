/** The building blocks of the OpenAPI document: schema and response shorthands every part of it shares. */
export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const time = { type: 'string', format: 'date-time' };
export const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
export const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});

export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
export const ok = (schema: string, description = 'OK') => ({ description, content: { 'application/json': { schema: ref(schema) } } });
export const query = (name: string, schema: Schema, description: string) => ({ name, in: 'query', required: false, schema, description });
export const jsonBody = (schema: Schema, required = false) => ({ required, content: { 'application/json': { schema } } });
export const common = { '401': errorResponse('No bearer token, or not this server\'s'), '422': errorResponse('Bad input (names the parameter)') };
export const forWrites = { ...common, '403': errorResponse('Not JSON, or from another origin') };
