/**
 * Topic templates with EMQX's placeholders, compiled once into parts so that rendering on
 * the hot path is a join, not a regex.
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

const getters: Record<string, (v: TopicVars) => string> = {
  cid: (v) => v.cid,
  clientid: (v) => v.cid,
  id: (v) => v.id ?? '',
  type: (v) => (v.type === undefined ? '' : String(v.type)),
  action: (v) => v.action ?? '',
  version: (v) => v.version ?? ''
}

export type TopicTemplate = (vars: TopicVars) => string

export function compileTopic (template: string): TopicTemplate {
  const parts: Part[] = []
  let last = 0
  for (const m of template.matchAll(placeholder)) {
    if (m.index > last) parts.push(template.slice(last, m.index))
    parts.push(getters[m[1] as string] as (v: TopicVars) => string)
    last = m.index + m[0].length
  }
  if (last < template.length) parts.push(template.slice(last))
  if (parts.every((p) => typeof p === 'string')) return () => template
  return (vars) => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(vars)
    return out
  }
}

/** The topic templates of one gateway, mountpoint included. */
export interface Topics {
  call: (vars: TopicVars) => string
  reply: TopicTemplate
  error: TopicTemplate
  dnstream: TopicTemplate
  event: TopicTemplate
  gatewayError: TopicTemplate
}

export interface TopicConfig {
  mountpoint: string
  upstream: { topic: string, topicOverrideMapping: Record<string, string>, replyTopic: string, errorTopic: string }
  dnstream: { topic: string }
  events: { topic: string, errorTopic: string }
}

export function compileTopics (c: TopicConfig): Topics {
  const m = c.mountpoint
  const call = compileTopic(m + c.upstream.topic)
  const overrides = new Map(Object.entries(c.upstream.topicOverrideMapping).map(([action, t]) => [action, compileTopic(m + t)]))
  return {
    // upstream.topic_override_mapping: per-Action topic for Calls (and 2.1 SENDs).
    call: overrides.size === 0 ? call : (v) => (overrides.get(v.action ?? '') ?? call)(v),
    reply: compileTopic(m + c.upstream.replyTopic),
    error: compileTopic(m + c.upstream.errorTopic),
    dnstream: compileTopic(m + c.dnstream.topic),
    event: compileTopic(m + c.events.topic),
    gatewayError: compileTopic(m + c.events.errorTopic)
  }
}
