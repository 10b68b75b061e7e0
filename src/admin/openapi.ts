/**
 * The API's description: an OpenAPI 3 document made by @fastify/swagger from the routes'
 * schemas (schemas.ts), served at `/api/v1/openapi.json`, and Swagger UI at `/api/v1/docs`
 * (@fastify/swagger-ui, its assets from the package: nothing is fetched from elsewhere).
 * Both need no key (auth.ts): they describe, they hold no data; the page's "Authorize" takes
 * a key for the calls it makes. Registered before the routes, whose onRoute it listens to.
 */
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export const OPENAPI_PATH = '/api/v1/openapi.json'
export const DOCS_PATH = '/api/v1/docs'

export function addOpenApi (app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'ocpp-gateway admin API',
        description: 'Operate an OCPP-J <-> MQTT gateway node: its charge points, their frames, Calls to them. Keys: `ocpp-gateway apikey add --role admin|viewer`; a viewer key may only GET.',
        version: '1'
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from admin.api_keys_file' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'gateway', description: 'This node' },
        { name: 'chargers', description: 'Connected charge points' },
        { name: 'emqx', description: 'EMQX 5 compatible paths' }
      ]
    },
    // Only the API: /metrics and the health probes are not part of it, nor the docs themselves.
    hiddenTag: 'hidden',
    transform: ({ schema, url }) => ({ schema: url.startsWith('/api/') && !url.startsWith(DOCS_PATH) ? schema : { ...schema, hide: true } as never, url })
  })
  void app.register(swaggerUi, { routePrefix: DOCS_PATH, staticCSP: true })
  void app.register(async (inner) => {
    inner.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger())
  })
}
