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

const getters: Readonly<Record<string, (v: TopicVars) => string>> = {
  cid: (v) => v.cid,
  clientid: (v) => v.cid,
  id: (v) => v.id ?? '',
  type: (v) => (v.type === undefined ? '' : String(v.type)),
  action: (v) => v.action ?? '',
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

/** The MQTT filter matching every topic of a template: `ocpp/cs/${cid}` -> `ocpp/cs/+`. */
export function topicWildcard (template: string): string {
  return split(template).map((p) => ('text' in p ? p.text : '+')).join('')
}

/**
 * Reads the charge point id out of a topic made from `template` (undefined when the topic is
 * not one of the template's, or the template has no `${cid}`/`${clientid}`).
 */
export function topicCidParser (template: string): (topic: string) => string | undefined {
  let cidGroup = 0
  let groups = 0
  const source = split(template).map((p) => {
    if ('text' in p) return p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    groups++
    if ((p.name === 'cid' || p.name === 'clientid') && cidGroup === 0) cidGroup = groups
    return '([^/]+)'
  }).join('')
  const re = new RegExp(`^${source}$`)
  return (topic) => (cidGroup === 0 ? undefined : re.exec(topic)?.[cidGroup])
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
  /** The charge point id of a downstream topic. */
  cidOfDnstream: (topic: string) => string | undefined
  /** Where each node says which charge points it holds: `{mountpoint}presence/{cid}/{node}`. */
  presencePrefix: string
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
    cidOfDnstream: topicCidParser(m + c.dnstream.topic),
    presencePrefix: `${m}presence/`
  }
}
