/**
 * JSON schemas of the admin routes: fastify validates requests with them (its Ajv, before the
 * handler runs: a bad query or body is a 400 `bad_request` from the error handler) and
 * @fastify/swagger turns them into the OpenAPI document at /api/v1/openapi.json.
 *
 * Response schemas keep `additionalProperties: true`: fastify serialises with them, and a
 * field added to an answer must not silently vanish because this file was not updated.
 */
const open = { additionalProperties: true } as const

export const errorBody = {
  type: 'object',
  ...open,
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } }
} as const

const errors = (...codes: number[]): Record<string, unknown> =>
  Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', ...errorBody }]))

const ERROR_TEXT: Record<number, string> = {
  400: 'bad_request: the query or body is not valid (or invalid_payload for a Call)',
  401: 'unauthorized: no valid API key',
  403: 'forbidden: a viewer key may only read (GET)',
  404: 'not_found: the charge point is not connected to this node',
  409: 'disconnected: the charge point went away with the Call owed',
  502: 'call_error: the charge point answered with a CallError (or invalid_answer)',
  503: 'queue_full: dnstream.max_mqueue_len Calls already wait for this charge point',
  504: 'timeout: no answer within the timeout'
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Charge point id (URL-encoded)' } }
} as const

const callsView = {
  type: 'object',
  ...open,
  properties: {
    to_charger: { type: 'object', ...open, properties: { queued: { type: 'integer' }, in_flight: { type: 'integer' } } },
    from_charger: { type: 'object', ...open, properties: { in_flight: { type: 'integer' } } }
  }
} as const

export const chargerView = {
  type: 'object',
  ...open,
  properties: {
    id: { type: 'string' },
    node: { type: 'string', description: 'The gateway node that holds the connection (node_id)' },
    version: { type: 'string', enum: ['1.6', '2.0.1', '2.1'] },
    subprotocol: { type: ['string', 'null'] },
    peer: { type: 'string' },
    listener: { type: 'string' },
    connected_at: { type: 'string', format: 'date-time' },
    last_frame_at: { type: 'string', format: 'date-time' },
    heartbeat_interval_s: { type: 'number', description: 'Keepalive interval in force (BootNotification interval, or default_heartbeat_interval); 0 = no keepalive check' },
    calls: callsView,
    tracing: { type: 'boolean', description: 'Whether its frames are being kept (after a GET …/frames)' }
  }
} as const

const listQuery = {
  type: 'object',
  properties: {
    prefix: { type: 'string', description: 'Charge point ids starting with this' },
    version: { type: 'string', enum: ['1.6', '2.0.1', '2.1'] },
    listener: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' }
  }
} as const

const list = {
  tags: ['chargers'],
  summary: 'Connected charge points of this node, in id order, paginated',
  querystring: listQuery,
  response: {
    200: { type: 'object', ...open, properties: { data: { type: 'array', items: chargerView }, next_cursor: { type: ['string', 'null'] } } },
    ...errors(400, 401)
  }
}

const frameView = {
  type: 'object',
  ...open,
  required: ['at', 'dir', 'frame'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    dir: { type: 'string', enum: ['in', 'out'], description: 'in = from the charge point' },
    frame: { type: 'string', description: 'The frame text, secrets redacted' },
    truncated: { type: 'boolean', description: 'Present when the frame was longer than 16 KiB and is cut' }
  }
} as const

export const routeSchemas = {
  status: {
    tags: ['gateway'],
    summary: 'Version, node, uptime, listeners, broker, configuration (secrets redacted)',
    response: { 200: { type: 'object', ...open, properties: { version: { type: 'string' }, node_id: { type: 'string' }, uptime_s: { type: 'integer' }, listeners: { type: 'array', items: { type: 'object', ...open } }, broker: { type: 'object', ...open }, config: { type: 'object', ...open } } }, ...errors(401) }
  },
  list,
  emqxList: {
    ...list,
    tags: ['emqx'],
    summary: 'EMQX 5 GET /api/v5/gateways/ocpp/clients (like_clientid is a prefix here)',
    querystring: { type: 'object', properties: { ...listQuery.properties, like_clientid: { type: 'string' } } },
    response: { 200: { type: 'object', ...open, properties: { data: { type: 'array', items: { type: 'object', ...open } }, meta: { type: 'object', ...open } } }, ...errors(400, 401) }
  },
  one: {
    tags: ['chargers'],
    summary: 'One connected charge point',
    params: idParams,
    response: { 200: chargerView, ...errors(401, 404) }
  },
  kick: {
    tags: ['chargers'],
    summary: 'Close the charge point\'s connection (WebSocket close 4004; the disconnect event says kicked). Admin keys only.',
    params: idParams,
    response: { 204: { type: 'null', description: 'Closed' }, ...errors(401, 403, 404) }
  },
  emqxKick: {
    tags: ['emqx'],
    summary: 'EMQX 5 DELETE /api/v5/gateways/ocpp/clients/{id}',
    params: idParams,
    response: { 204: { type: 'null', description: 'Closed' }, ...errors(401, 403, 404) }
  },
  call: {
    tags: ['chargers'],
    summary: 'Send a Call to the charge point and wait for its answer. Admin keys only.',
    description: 'Through the same queue, bounds, validation and timeout as a backend\'s Call; the answer is not published on MQTT. The UniqueId is made by the gateway (adm-…). 404 when the charge point is not connected to this node: in a cluster, GET /api/v1/chargers/{id} on each node tells which holds it (`node`).',
    params: idParams,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['action', 'payload'],
      properties: {
        action: { type: 'string', minLength: 1, maxLength: 64, description: 'An action of the charge point\'s OCPP version, e.g. Reset' },
        payload: { type: 'object', description: 'The Call payload; validated per message_format_checking (dnstream)' },
        timeout: { type: 'string', description: 'How long to wait, e.g. "30s" (default dnstream.awaiting_timeout, at most 300s)' }
      }
    },
    response: {
      200: { description: 'The charge point\'s CallResult', type: 'object', ...open, required: ['result', 'unique_id', 'payload', 'elapsed_ms'], properties: { result: { type: 'string', enum: ['CallResult'] }, unique_id: { type: 'string' }, payload: { type: 'object', ...open }, elapsed_ms: { type: 'integer' } } },
      ...errors(400, 401, 403, 404, 409, 503, 504),
      502: { description: ERROR_TEXT[502], type: 'object', ...open, required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' }, unique_id: { type: 'string' }, code: { type: 'string' }, description: { type: 'string' }, details: { type: 'object', ...open } } }
    }
  },
  frames: {
    tags: ['chargers'],
    summary: 'The last frames of the charge point, both directions; ?follow=1 streams them (text/event-stream)',
    description: 'Frames are kept from the first request for this charge point on (admin.trace_frames of them; dropped after admin.trace_idle unasked). With follow=1 the answer is Server-Sent Events: `event: frame` with the same object as data[], `event: dropped` ({count}) for frames a slow reader missed, `event: end` when the charge point disconnects. Send the Authorization header (fetch streaming; EventSource cannot).',
    params: idParams,
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'How many (default and cap: admin.trace_frames)' },
        follow: { type: 'string', enum: ['0', '1', 'true', 'false'] }
      }
    },
    response: {
      200: { type: 'object', ...open, properties: { data: { type: 'array', items: frameView }, tracing_since: { type: 'string', format: 'date-time' } } },
      ...errors(400, 401, 404)
    }
  }
} as const
