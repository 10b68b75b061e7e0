/**
 * The gateway's topics as a backend sees them: the same templates and placeholders as the
 * gateway's configuration (src/bridge/topics.ts does the grammar), turned around — subscribe
 * to the upstream ones, read the charge point id (and `${version}`) out of a topic, render the
 * downstream one.
 */
import { compileTopic, topicParser, topicWildcard, type TopicTemplate } from '../bridge/topics.js'

/** The gateway's topic settings, with its config keys' defaults (README "Configuration"). */
export interface TopicOptions {
  /** `upstream.topic`, `upstream.topic_override_mapping`, `upstream.reply_topic`, `upstream.error_topic`. */
  upstream?: { topic?: string, topicOverrideMapping?: Readonly<Record<string, string>>, replyTopic?: string, errorTopic?: string }
  /** `dnstream.topic`. */
  dnstream?: { topic?: string }
  /** `events.topic`, `events.error_topic` (this gateway's extensions). */
  events?: { topic?: string, errorTopic?: string }
}

export const defaultTopics = Object.freeze({
  upstream: Object.freeze({ topic: 'cp/${cid}', topicOverrideMapping: Object.freeze({}) as Readonly<Record<string, string>>, replyTopic: 'cp/${cid}/Reply', errorTopic: 'cp/${cid}/Reply' }),
  dnstream: Object.freeze({ topic: 'cs/${cid}' }),
  events: Object.freeze({ topic: 'events/${cid}', errorTopic: 'errors/${cid}' })
})

/** What a topic says about its message. */
export interface TopicVarsRead { cid: string, version: string | undefined }
type Parse = (topic: string) => TopicVarsRead | undefined

export interface BackendTopics {
  /** Filters of the charge points' Calls and SENDs (per-Action overrides included). */
  callFilters: string[]
  /** Filters of the answers: CallResults, CallErrors, gateway-made CallErrors. */
  replyFilters: string[]
  eventFilter: string
  errorFilter: string
  /** `{mountpoint}presence/+/+`: the nodes' retained records of who holds which charge point. */
  presenceFilter: string
  presencePrefix: string
  parseCall: Parse
  parseReply: Parse
  parseEvent: Parse
  parseError: Parse
  dnstream: TopicTemplate
  /** Whether the downstream topic needs the version (`${version}` in `dnstream.topic`). */
  dnstreamNeedsVersion: boolean
}

function parserOf (templates: string[]): Parse {
  const parsers = templates.map((t) => topicParser(t))
  return (topic) => {
    for (const p of parsers) {
      const v = p(topic)
      if (v?.cid !== undefined) return { cid: v.cid, version: v.version }
    }
    return undefined
  }
}

const unique = (xs: string[]): string[] => [...new Set(xs)]

export function backendTopics (mountpoint: string, o: TopicOptions = {}): BackendTopics {
  const up = { ...defaultTopics.upstream, ...o.upstream }
  const down = { ...defaultTopics.dnstream, ...o.dnstream }
  const ev = { ...defaultTopics.events, ...o.events }
  const m = mountpoint
  const calls = unique([up.topic, ...Object.values(up.topicOverrideMapping)].map((t) => m + t))
  const replies = unique([up.replyTopic, up.errorTopic].map((t) => m + t))
  return {
    callFilters: unique(calls.map(topicWildcard)),
    replyFilters: unique(replies.map(topicWildcard)),
    eventFilter: topicWildcard(m + ev.topic),
    errorFilter: topicWildcard(m + ev.errorTopic),
    presenceFilter: `${m}presence/+/+`,
    presencePrefix: `${m}presence/`,
    parseCall: parserOf(calls),
    parseReply: parserOf(replies),
    parseEvent: parserOf([m + ev.topic]),
    parseError: parserOf([m + ev.errorTopic]),
    dnstream: compileTopic(m + down.topic),
    dnstreamNeedsVersion: down.topic.includes('${version}')
  }
}

/** `$share/{group}/{filter}` (MQTT 5 shared subscriptions; Mosquitto, EMQX and HiveMQ take it on 3.1.1 too). */
export function shared (group: string | undefined, filter: string): string {
  return group === undefined ? filter : `$share/${group}/${filter}`
}
