/**
 * MQTT 5 request/response for backend Calls (beyond EMQX; issue 16): a backend Call published
 * with a Response Topic (and Correlation Data) gets its answer there too, besides the Reply
 * topic: the charge point's CallResult or CallError, or the gateway's own answer (offline,
 * timeout, queue_full, invalid_payload, disconnected...). So a backend can await an answer
 * without tracking UniqueIds.
 *
 * The gateway publishes to the Response Topic itself, so a backend must not be able to point
 * it at the gateway's own topics: a response topic on any of them (a downstream topic would
 * reach a charge point as the backend's answer, an upstream one would forge a charger's
 * message; control, presence, node topics), or one with wildcards, is refused (reported,
 * counted), and the Call goes on as without one. On the embedded broker backends may read
 * `{mountpoint}responses/#` for this (its ACL, ./mqtt-acl.ts).
 *
 * @example
 *   responses.expect('CP1', 'call-7', { responseTopic: 'csms/7/answers', correlationData })
 *   const to = responses.take('CP1', 'call-7')   // when its answer comes, once
 */
import { messageProps, topicMatches, type MqttProps } from './adapters/mqtt-port.js'
import type { FrameTracing } from '../observability/tracing.js'
import type { Topics } from './topics.js'

/** What a backend Call asked of its answer: a response topic, a trace to continue, or both. */
export interface ResponseRoute {
  topic?: string
  /** Sent back as it came (MQTT 5 §3.3.2.3.6). */
  props?: MqttProps
  /** The backend's W3C traceparent: the answer is published as a child of its span. */
  parent?: string
}

export interface ResponseOptions {
  /** dnstream.request_response: honour Response Topics. */
  requestResponse: boolean
  tracing: FrameTracing
}

/**
 * Routes kept at most, all charge points together: the oldest goes first. Each backend Call is
 * answered once (its route taken then); what is left behind (a charge point taken over by
 * another node, which answers it there) is bounded by this.
 */
export const MAX_RESPONSE_ROUTES = 200_000

export class ResponseRoutes {
  private readonly routes = new Map<string, ResponseRoute>()
  /** Routes pushed out by the bound before their answer came. */
  dropped = 0

  /** `refused`: told of each response topic not honoured (to report, log and count it). */
  constructor (private readonly topics: Topics, private readonly refused: (cid: string, topic: string, why: string) => void, private readonly o: ResponseOptions = { requestResponse: true, tracing: NO_TRACING }, private readonly max = MAX_RESPONSE_ROUTES) {}

  /**
   * What a received downstream payload asks of its answer (from its MQTT 5 properties): its
   * Response Topic when honoured, its traceparent when valid; undefined when nothing.
   */
  asked (payload: Buffer, cid: string): ResponseRoute | undefined {
    const props = messageProps(payload)
    if (props === undefined) return undefined
    let topic = this.o.requestResponse ? props.responseTopic : undefined
    if (topic !== undefined && !this.honours(topic, cid)) topic = undefined
    const parent = this.o.tracing.downstream(props.userProperties?.traceparent, undefined, cid, undefined)
    if (topic === undefined && parent === undefined) return undefined
    const route: ResponseRoute = {}
    if (topic !== undefined) {
      route.topic = topic
      if (props.correlationData !== undefined) route.props = { correlationData: props.correlationData }
    }
    if (parent !== undefined) route.parent = parent
    return route
  }

  get size (): number { return this.routes.size }

  /** Whether a backend Call's response topic is honoured; one that is not is told. */
  honours (topic: string, cid: string): boolean {
    const why = this.refusal(topic)
    if (why === undefined) return true
    this.refused(cid, topic, why)
    return false
  }

  /**
   * Why a response topic is not honoured, or undefined when it is: a topic of the gateway's
   * own (downstream, control, presence, nodes) or one with wildcards.
   */
  refusal (topic: string): string | undefined {
    if (topic === '' || /[+#]/.test(topic) || topic.includes('\u0000')) return 'a response topic must be a topic name, without wildcards'
    const own = this.topics.reserved.find((f) => topicMatches(f, topic))
    if (own !== undefined) return `a response topic may not be one of the gateway's own topics (${own})`
    return undefined
  }

  /** Remember where the answer to this Call goes (a later Call with the same id replaces it). */
  expect (cid: string, id: string, route: ResponseRoute): void {
    const key = keyOf(cid, id)
    this.routes.delete(key)
    this.routes.set(key, route)
    if (this.routes.size > this.max) {
      const oldest = this.routes.keys().next().value
      if (oldest !== undefined) this.routes.delete(oldest)
      this.dropped++
    }
  }

  /** Where the answer to this Call goes, once; undefined when it had no response topic. */
  take (cid: string, id: string): ResponseRoute | undefined {
    if (this.routes.size === 0) return undefined
    const key = keyOf(cid, id)
    const route = this.routes.get(key)
    if (route !== undefined) this.routes.delete(key)
    return route
  }
}

/** Tracing off: ResponseRoutes used without it (tests). */
const NO_TRACING = { downstream: () => undefined } as unknown as FrameTracing

/**
 * The MQTT 5 properties of an upstream publish: the trace's user properties, and for a copy
 * to a response topic the correlation data it asked for.
 */
export function publishProps (trace: Record<string, string> | undefined, route?: ResponseRoute): MqttProps | undefined {
  if (trace === undefined) return route?.props
  return route?.props === undefined ? { userProperties: trace } : { ...route.props, userProperties: trace }
}

function keyOf (cid: string, id: string): string {
  return `${cid}\u0000${id}`
}
