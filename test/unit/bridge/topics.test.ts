/**
 * Topic templates: rendering every placeholder, the per-Action override, the mountpoint
 * applied once to every topic, the wildcard filter and reading the charge point id back.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildConfig } from '../../../src/config/load.js'
import { compileTopic, compileTopics, topicLevel, topicParser, topicWildcard } from '../../../src/bridge/topics.js'

/** The charge point id a template's parser reads out of a topic. */
const topicCidParser = (template: string) => { const parse = topicParser(template); return (topic: string): string | undefined => parse(topic)?.cid }

const vars = { cid: 'CP-1', id: 'm-42', type: 2, action: 'Heartbeat', version: '2.0.1' }

test('render: every placeholder is replaced by its value', () => {
  const t = compileTopic('x/${cid}/${clientid}/${id}/${type}/${action}/${version}/end')
  assert.equal(t(vars), 'x/CP-1/CP-1/m-42/2/Heartbeat/2.0.1/end')
  assert.equal(t({ cid: 'B', id: 'i', type: 4, action: 'Reset', version: '1.6' }), 'x/B/B/i/4/Reset/1.6/end')
})

test('render: placeholders next to each other and at the edges', () => {
  assert.equal(compileTopic('${cid}')(vars), 'CP-1')
  assert.equal(compileTopic('${version}${cid}-${type}')(vars), '2.0.1CP-1-2')
  assert.equal(compileTopic('${action}/t')(vars), 'Heartbeat/t')
})

test('render: a placeholder without a value renders empty', () => {
  const t = compileTopic('a/${cid}/${id}/${type}/${action}/${version}')
  assert.equal(t({ cid: 'C' }), 'a/C////')
  assert.equal(t({ cid: 'C', type: 0 }), 'a/C//0//')
})

test('render: a template without placeholders is itself, whatever the vars', () => {
  const t = compileTopic('plain/topic')
  assert.equal(t(vars), 'plain/topic')
  assert.equal(t({ cid: 'other' }), 'plain/topic')
})

test('render: unknown placeholders are literal text', () => {
  assert.equal(compileTopic('a/${foo}/${cid}/$cid')(vars), 'a/${foo}/CP-1/$cid')
})

test('compileTopics: default topics under the default mountpoint', () => {
  const t = compileTopics(buildConfig([]))
  assert.equal(t.call(vars), 'ocpp/cp/CP-1')
  assert.equal(t.reply(vars), 'ocpp/cp/CP-1/Reply')
  assert.equal(t.error(vars), 'ocpp/cp/CP-1/Reply')
  assert.equal(t.dnstream(vars), 'ocpp/cs/CP-1')
  assert.equal(t.event(vars), 'ocpp/events/CP-1')
  assert.equal(t.gatewayError(vars), 'ocpp/errors/CP-1')
  assert.equal(t.dnstreamFilter, 'ocpp/cs/+')
  assert.equal(t.presencePrefix, 'ocpp/presence/')
})

test('compileTopics: topic_override_mapping picks the topic per Action, the default otherwise', () => {
  const t = compileTopics(buildConfig([{
    upstream: {
      topic: 'up/${cid}/${action}',
      topic_override_mapping: { BootNotification: 'boot/${cid}', MeterValues: 'meter/${version}/${cid}/${id}' }
    }
  }]))
  assert.equal(t.call({ ...vars, action: 'BootNotification' }), 'ocpp/boot/CP-1')
  assert.equal(t.call({ ...vars, action: 'MeterValues' }), 'ocpp/meter/2.0.1/CP-1/m-42')
  assert.equal(t.call({ ...vars, action: 'Heartbeat' }), 'ocpp/up/CP-1/Heartbeat')
  assert.equal(t.call({ cid: 'CP-1' }), 'ocpp/up/CP-1/')
  // Only Calls are mapped: the reply topic stays.
  assert.equal(t.reply({ ...vars, action: 'BootNotification', type: 3 }), 'ocpp/cp/CP-1/Reply')
})

test('compileTopics: the mountpoint is applied once to every topic, the filter and the presence prefix', () => {
  const t = compileTopics(buildConfig([{
    mountpoint: 'mp/',
    upstream: { topic_override_mapping: { BootNotification: 'boot/${cid}' }, error_topic: 'cp/${cid}/Error' },
    dnstream: { topic: 'cs/${version}/${cid}' }
  }]))
  assert.equal(t.call(vars), 'mp/cp/CP-1')
  assert.equal(t.call({ ...vars, action: 'BootNotification' }), 'mp/boot/CP-1')
  assert.equal(t.reply(vars), 'mp/cp/CP-1/Reply')
  assert.equal(t.error(vars), 'mp/cp/CP-1/Error')
  assert.equal(t.dnstream(vars), 'mp/cs/2.0.1/CP-1')
  assert.equal(t.event(vars), 'mp/events/CP-1')
  assert.equal(t.gatewayError(vars), 'mp/errors/CP-1')
  assert.equal(t.dnstreamFilter, 'mp/cs/+/+')
  assert.equal(t.presencePrefix, 'mp/presence/')
  assert.equal(t.parseDnstream('mp/cs/2.0.1/CP-1')?.cid, 'CP-1')
  // Without the mountpoint, the topic is not one of ours.
  assert.equal(t.parseDnstream('cs/2.0.1/CP-1')?.cid, undefined)
  assert.equal(t.parseDnstream('mp/mp/cs/2.0.1/CP-1')?.cid, undefined)
})

test('compileTopics: an empty mountpoint', () => {
  const t = compileTopics(buildConfig([{ mountpoint: '' }]))
  assert.equal(t.call(vars), 'cp/CP-1')
  assert.equal(t.dnstream(vars), 'cs/CP-1')
  assert.equal(t.dnstreamFilter, 'cs/+')
  assert.equal(t.presencePrefix, 'presence/')
  assert.equal(t.parseDnstream('cs/CP-1')?.cid, 'CP-1')
})

test('wildcard: each placeholder is one + level, literal text stays', () => {
  assert.equal(topicWildcard('ocpp/cs/${cid}'), 'ocpp/cs/+')
  assert.equal(topicWildcard('ocpp/cs/${version}/${clientid}'), 'ocpp/cs/+/+')
  assert.equal(topicWildcard('${cid}/down'), '+/down')
  assert.equal(topicWildcard('fixed/topic'), 'fixed/topic')
})

test('cid parser: render then parse gives the id back, odd ids included', () => {
  const templates = ['ocpp/cs/${cid}', 'ocpp/cs/${clientid}', 'ocpp/cs/${version}/${cid}', 'x$y.(z)/${cid}/in', '${cid}']
  const ids = ['CP-1', 'a.b', 'x$y', 'München', 'a(b)', '[x]', '*', 'a\\b', 'é✓', '${cid}']
  for (const template of templates) {
    const render = compileTopic(template)
    const parse = topicCidParser(template)
    for (const cid of ids) {
      assert.equal(parse(render({ cid, version: '2.1' })), cid, `${template} ${cid}`)
    }
  }
})

test('cid parser: a topic of another template is undefined', () => {
  const parse = topicCidParser('ocpp/cs/${cid}')
  assert.equal(parse('ocpp/cp/CP-1'), undefined)
  assert.equal(parse('ocpp/cs/CP-1/Reply'), undefined)
  assert.equal(parse('ocpp/cs/'), undefined)
  assert.equal(parse('xocpp/cs/CP-1'), undefined)
  assert.equal(parse('ocpp/cs'), undefined)
  // Literal text is matched literally, not as a regular expression.
  const dotted = topicCidParser('a.b/${cid}')
  assert.equal(dotted('a.b/CP'), 'CP')
  assert.equal(dotted('aXb/CP'), undefined)
  const dollar = topicCidParser('x$/${cid}')
  assert.equal(dollar('x$/CP'), 'CP')
})

test('cid parser: the cid is its own placeholder, not another one', () => {
  const parse = topicCidParser('cs/${version}/${id}/${cid}')
  assert.equal(parse('cs/1.6/m1/CP-9'), 'CP-9')
})

test('cid parser: a template without ${cid} or ${clientid} reads no id', () => {
  const parse = topicCidParser('ocpp/cs/${version}')
  assert.equal(parse('ocpp/cs/1.6'), undefined)
  assert.equal(topicCidParser('ocpp/fixed')('ocpp/fixed'), undefined)
})

test('a level holding a placeholder among other text is one + in the wildcard, and the parser still reads it', () => {
  assert.equal(topicWildcard('ocpp/cs/cp-${cid}'), 'ocpp/cs/+')
  assert.equal(topicWildcard('cs/${cid}${version}/x'), 'cs/+/x')
  const t = compileTopics({ mountpoint: 'ocpp/', upstream: { topic: 'cp/${cid}', topicOverrideMapping: {}, replyTopic: 'cp/${cid}/Reply', errorTopic: 'cp/${cid}/Reply' }, dnstream: { topic: 'cs/cp-${cid}' }, events: { topic: 'e/${cid}', errorTopic: 'x/${cid}' } })
  assert.equal(t.dnstreamFilter, 'ocpp/cs/+')
  assert.equal(t.parseDnstream('ocpp/cs/cp-A1')?.cid, 'A1')
  assert.equal(t.parseDnstream('ocpp/cs/A1')?.cid, undefined)
})

test('parseDnstream reads the version too; a placeholder written twice must agree', () => {
  const t = compileTopics({ mountpoint: '', upstream: { topic: 'cp/${cid}', topicOverrideMapping: {}, replyTopic: 'cp/${cid}/Reply', errorTopic: 'cp/${cid}/Reply' }, dnstream: { topic: 'cs/${version}/${cid}' }, events: { topic: 'e/${cid}', errorTopic: 'x/${cid}' } })
  assert.deepEqual(t.parseDnstream('cs/2.0.1/CP-9'), { cid: 'CP-9', version: '2.0.1' })
  assert.equal(topicCidParser('cs/${cid}/${cid}')('cs/A/B'), undefined)
  assert.equal(topicCidParser('cs/${cid}/${cid}')('cs/A/A'), 'A')
})

test('values from peers become one safe topic level: / + # NUL and % percent-encoded', () => {
  assert.equal(topicLevel('Heartbeat'), 'Heartbeat')
  assert.equal(topicLevel('a/b+c#d\u0000e%f'), 'a%2Fb%2Bc%23d%00e%25f')
  assert.equal(topicLevel('%2F'), '%252F', 'an encoded-looking value stays distinct from an encoded one')
  const t = compileTopic('cp/${cid}/${action}/${id}')
  assert.equal(t({ cid: 'CP', action: '#', id: 'x/+' }), 'cp/CP/%23/x%2F%2B')
})
