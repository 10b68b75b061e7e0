/**
 * Topic templates with EMQX's placeholders (`${cid}`, `${clientid}`, `${id}`, `${type}`,
 * `${action}`, `${version}`): one grammar, three uses — render a topic (compiled once into
 * parts, so rendering on the hot path is a join, not a regex), turn a template into an MQTT
 * wildcard filter (each placeholder one `+` level), and read the charge point id back out of
 * a topic. The mountpoint is prefixed here, once, for every topic the gateway uses.
 */
export interface TopicVars {
  cid: string
  id?: string
  type?: number
  action?: string
  version?: string
}

const placeholder = /\$\{(cid|clientid|id|type|action|version)\}/g
type Part = string | ((v: TopicVars) => string)

/** Characters a value must not bring into a topic: a level separator, wildcards, NUL, and `%` itself. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what must not reach a topic
const UNSAFE = /[%/+#\u0000]/
// eslint-disable-next-line no-control-regex -- the same
const UNSAFE_ALL = /[%/+#\u0000]/g
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '/': '%2F', '+': '%2B', '#': '%23', '\u0000': '%00' }

/**
 * A value from a peer (a message id, an Action) as one topic level: `/`, `+`, `#`, NUL and `%`
 * percent-encoded. Published as is, `#` or `+` makes a broker drop the gateway's connection
 * (Mosquitto does), and `/` would move the message to another topic.
 */
export function topicLevel (value: string): string {
  return UNSAFE.test(value) ? value.replace(UNSAFE_ALL, (c) => ESCAPES[c] as string) : value
}

const getters: Readonly<Record<string, (v: TopicVars) => string>> = {
  // The id was checked at the handshake (no "/", "+", "#", control characters).
  cid: (v) => v.cid,
  clientid: (v) => v.cid,
  id: (v) => (v.id === undefined ? '' : topicLevel(v.id)),
  type: (v) => (v.type === undefined ? '' : String(v.type)),
  action: (v) => (v.action === undefined ? '' : topicLevel(v.action)),
  version: (v) => v.version ?? ''
}

export type TopicTemplate = (vars: TopicVars) => string

/** A template as literal text and placeholder names, in order. */
function split (template: string): Array<{ text: string } | { name: string }> {
  const out: Array<{ text: string } | { name: string }> = []
  let last = 0
  for (const m of template.matchAll(placeholder)) {
    if (m.index > last) out.push({ text: template.slice(last, m.index) })
    out.push({ name: m[1] as string })
    last = m.index + m[0].length
  }
  if (last < template.length) out.push({ text: template.slice(last) })
  return out
}

export function compileTopic (template: string): TopicTemplate {
  const parts: Part[] = split(template).map((p) => ('text' in p ? p.text : getters[p.name] as (v: TopicVars) => string))
  if (parts.every((p) => typeof p === 'string')) return () => template
  return (vars) => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(vars)
    return out
  }
}

/**
 * The MQTT filter matching every topic of a template: `ocpp/cs/${cid}` -> `ocpp/cs/+`. A
 * level that holds a placeholder anywhere (`cp-${cid}`, `${cid}${version}`) is one `+` as a
 * whole: a wildcard is a level of its own in MQTT, and `cp-+` would match nothing.
 */
export function topicWildcard (template: string): string {
  return template.split('/').map((level) => (level.search(placeholder) === -1 ? level : '+')).join('/')
}

/**
 * Reads the placeholders back out of a topic made from `template`: undefined when the topic is
 * not one of the template's. A placeholder written twice must have the same value both times.
 */
export function topicParser (template: string): (topic: string) => Partial<Record<string, string>> | undefined {
  const names: string[] = []
  const source = split(template).map((p) => {
    if ('text' in p) return p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    names.push(p.name === 'clientid' ? 'cid' : p.name)
    return '([^/]+)'
  }).join('')
  const re = new RegExp(`^${source}$`)
  return (topic) => {
    const m = re.exec(topic)
    if (m === null) return undefined
    const vars: Partial<Record<string, string>> = {}
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string
      const value = m[i + 1] as string
      if (vars[name] !== undefined && vars[name] !== value) return undefined
      vars[name] = value
    }
    return vars
  }
}

/** The topics of one gateway, mountpoint included. */
export interface Topics {
  /** Calls and 2.1 SENDs from charge points (per Action with upstream.topic_override_mapping). */
  call: TopicTemplate
  reply: TopicTemplate
  error: TopicTemplate
  dnstream: TopicTemplate
  event: TopicTemplate
  gatewayError: TopicTemplate
  /** Every downstream topic, as one filter. */
  dnstreamFilter: string
  /** The charge point id and (when the template has it) the version of a downstream topic. */
  parseDnstream: (topic: string) => { cid: string, version: string | undefined } | undefined
  /** Where each node says which charge points it holds: `{mountpoint}presence/{cid}/{node}`. */
  presencePrefix: string
  /** Where each node says it is alive (retained, its MQTT last will says lost): `{mountpoint}nodes/{node}`. */
  nodesPrefix: string
  /** Backends' commands to the gateway about one charge point: `{mountpoint}ctl/{cid}`, answered on `…/Reply`. */
  controlPrefix: string
  /** Every topic the gateway publishes or reads, as filters: no MQTT 5 response topic may be one. */
  reserved: readonly string[]
  /** Where backends on the embedded broker take MQTT 5 responses: `{mountpoint}responses/`. */
  responsesPrefix: string
}

export interface TopicConfig {
  mountpoint: string
  upstream: { topic: string, topicOverrideMapping: Readonly<Record<string, string>>, replyTopic: string, errorTopic: string }
  dnstream: { topic: string }
  events: { topic: string, errorTopic: string }
}

export function compileTopics (c: TopicConfig): Topics {
  const m = c.mountpoint
  const call = compileTopic(m + c.upstream.topic)
  const overrides = new Map(Object.entries(c.upstream.topicOverrideMapping).map(([action, t]) => [action, compileTopic(m + t)]))
  return {
    call: overrides.size === 0 ? call : (v) => (overrides.get(v.action ?? '') ?? call)(v),
    reply: compileTopic(m + c.upstream.replyTopic),
    error: compileTopic(m + c.upstream.errorTopic),
    dnstream: compileTopic(m + c.dnstream.topic),
    event: compileTopic(m + c.events.topic),
    gatewayError: compileTopic(m + c.events.errorTopic),
    dnstreamFilter: topicWildcard(m + c.dnstream.topic),
    parseDnstream: dnstreamParser(m + c.dnstream.topic),
    presencePrefix: `${m}presence/`,
    nodesPrefix: `${m}nodes/`,
    controlPrefix: `${m}ctl/`,
    reserved: [...new Set([
      c.upstream.topic, ...Object.values(c.upstream.topicOverrideMapping), c.upstream.replyTopic, c.upstream.errorTopic,
      c.dnstream.topic, c.events.topic, c.events.errorTopic
    ].map((t) => topicWildcard(m + t)).concat([`${topicWildcard(m)}ctl/#`, `${topicWildcard(m)}presence/#`, `${topicWildcard(m)}nodes/#`]))],
    responsesPrefix: `${m}responses/`
  }
}

function dnstreamParser (template: string): (topic: string) => { cid: string, version: string | undefined } | undefined {
  const parse = topicParser(template)
  return (topic) => {
    const v = parse(topic)
    return v?.cid === undefined ? undefined : { cid: v.cid, version: v.version }
  }
}
