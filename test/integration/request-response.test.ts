/**
 * MQTT 5 for backends (issue 16, beyond EMQX): W3C traceparent user properties both ways, and
 * request/response for backend Calls: a Call published with a
 * Response Topic and Correlation Data gets its answer there too, with that correlation data —
 * the charge point's CallResult or CallError, and the gateway's own answers (offline,
 * invalid_payload) — besides the usual Reply topic. A response topic on the gateway's own
 * topics is not honoured: reported, counted, answered on the Reply topic only.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import mqtt, { type MqttClient } from 'mqtt'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, Inbox, type ChargePoint } from '../helpers/clients.js'

interface Got { topic: string, json: Record<string, any>, correlation: string | undefined, traceparent: string | undefined }

/** An MQTT 5 backend: what it receives, with each message's correlation data. */
async function v5Backend (url: string, subscriptions: string[]): Promise<{ client: MqttClient, inbox: Inbox<Got> }> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, clientId: `rr-${Math.random().toString(16).slice(2)}` })
  const inbox = new Inbox<Got>()
  client.on('message', (topic, payload, packet) => {
    const tp = packet.properties?.userProperties?.traceparent
    inbox.push({ topic, json: JSON.parse(payload.toString()), correlation: packet.properties?.correlationData?.toString(), traceparent: Array.isArray(tp) ? tp[0] : tp })
  })
  await client.subscribeAsync(subscriptions, { qos: 1 })
  return { client, inbox }
}

const call = (id: string, action: string, payload: object): string => JSON.stringify({ MessageTypeId: 2, UniqueId: id, Action: action, Payload: payload })

for (const { kind, skip } of brokerKinds) {
  describe(`MQTT 5 request/response (${kind})`, { skip }, () => {
    let t: TestGateway
    let backend: { client: MqttClient, inbox: Inbox<Got> }
    let cp: ChargePoint

    before(async () => {
      t = await startTestGateway({ broker: kind, subscriptions: [], config: { message_format_checking: 'all' } })
      backend = await v5Backend(t.mqttUrl, ['ocpp/responses/csms/#', 'ocpp/cp/#', 'ocpp/errors/#'])
      cp = await connectChargePoint(`${t.url}/RR1`)
    })

    after(async () => {
      await cp?.close()
      await backend?.client.endAsync()
      await t?.stop()
    })

    const ask = (cid: string, body: string, responseTopic: string, correlation: string): Promise<unknown> =>
      backend.client.publishAsync(`ocpp/cs/${cid}`, body, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(correlation) } })

    test('the charge point\'s CallResult and CallError come on the response topic with the correlation data, and on the Reply topic', async () => {
      await ask('RR1', call('rr-1', 'Reset', { type: 'Soft' }), 'ocpp/responses/csms/1', 'corr-1')
      const f = await cp.frames.wait((x) => x[1] === 'rr-1')
      cp.send([3, 'rr-1', { status: 'Accepted' }])
      const answer = await backend.inbox.wait((m) => m.topic === 'ocpp/responses/csms/1')
      assert.equal(f[2], 'Reset')
      assert.deepEqual([answer.json.MessageTypeId, answer.json.UniqueId, answer.json.Payload, answer.correlation], [3, 'rr-1', { status: 'Accepted' }, 'corr-1'])
      const reply = await backend.inbox.wait((m) => m.topic === 'ocpp/cp/RR1/Reply' && m.json.UniqueId === 'rr-1')
      assert.equal(reply.correlation, undefined)
      // Both copies of the answer are one publish's: the same span.
      assert.equal(answer.traceparent, reply.traceparent)

      await ask('RR1', call('rr-2', 'Reset', { type: 'Hard' }), 'ocpp/responses/csms/2', 'corr-2')
      await cp.frames.wait((x) => x[1] === 'rr-2')
      cp.send([4, 'rr-2', 'NotSupported', 'no', {}])
      const err = await backend.inbox.wait((m) => m.topic === 'ocpp/responses/csms/2')
      assert.deepEqual([err.json.MessageTypeId, err.json.ErrorCode, err.correlation], [4, 'NotSupported', 'corr-2'])
    })

    test('the gateway\'s own answers come there too: invalid payload, offline', async () => {
      await ask('RR1', call('rr-3', 'Reset', { type: 'Sideways' }), 'ocpp/responses/csms/3', 'corr-3')
      const invalid = await backend.inbox.wait((m) => m.topic === 'ocpp/responses/csms/3')
      assert.deepEqual([invalid.json.UniqueId, invalid.json.ErrorDetails?.reason, invalid.correlation], ['rr-3', 'invalid_payload', 'corr-3'])
      await ask('NOBODY-RR', call('rr-4', 'Reset', { type: 'Soft' }), 'ocpp/responses/csms/4', 'corr-4')
      const offline = await backend.inbox.wait((m) => m.topic === 'ocpp/responses/csms/4')
      assert.deepEqual([offline.json.UniqueId, offline.json.ErrorDetails?.reason, offline.correlation], ['rr-4', 'offline', 'corr-4'])
    })

    test('W3C trace context: a traceparent on every upstream frame; a backend Call\'s own continued by its answer', async () => {
      const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/
      cp.send([2, 'hb-1', 'Heartbeat', {}])
      const up = await backend.inbox.wait((m) => m.topic === 'ocpp/cp/RR1' && m.json.UniqueId === 'hb-1')
      assert.match(up.traceparent ?? '', TP)
      const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      await backend.client.publishAsync('ocpp/cs/RR1', call('tr-1', 'Reset', { type: 'Soft' }), { qos: 1, properties: { userProperties: { traceparent: parent } } })
      await cp.frames.wait((x) => x[1] === 'tr-1')
      cp.send([3, 'tr-1', { status: 'Accepted' }])
      const reply = await backend.inbox.wait((m) => m.topic === 'ocpp/cp/RR1/Reply' && m.json.UniqueId === 'tr-1')
      const m = TP.exec(reply.traceparent ?? '')
      assert.equal(m?.[1], '4bf92f3577b34da6a3ce929d0e0e4736', 'the backend\'s trace')
      assert.notEqual(m?.[2], '00f067aa0ba902b7', 'a span of the gateway under it')
      // A gateway answer (offline) in the backend's trace too.
      await backend.client.publishAsync('ocpp/cs/NOBODY-TR', call('tr-2', 'Reset', { type: 'Soft' }), { qos: 1, properties: { userProperties: { traceparent: parent } } })
      const offline = await backend.inbox.wait((x) => x.topic === 'ocpp/cp/NOBODY-TR/Reply')
      assert.equal(TP.exec(offline.traceparent ?? '')?.[1], '4bf92f3577b34da6a3ce929d0e0e4736')
    })

    test('a response topic on the gateway\'s own downstream topic is not honoured: reported, counted, answered on Reply only', async () => {
      // Pointed at another charge point's downstream topic, the answer would reach it as the backend's.
      const other = await connectChargePoint(`${t.url}/RR2`)
      try {
        await ask('RR1', call('rr-5', 'Reset', { type: 'Soft' }), 'ocpp/cs/RR2', 'corr-5')
        await cp.frames.wait((x) => x[1] === 'rr-5')
        cp.send([3, 'rr-5', { status: 'Accepted' }])
        const report = await backend.inbox.wait((m) => m.topic === 'ocpp/errors/RR1' && m.json.Error === 'invalid_response_topic')
        assert.equal(report.json.ResponseTopic, 'ocpp/cs/RR2')
        await backend.inbox.wait((m) => m.topic === 'ocpp/cp/RR1/Reply' && m.json.UniqueId === 'rr-5')
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.equal(other.frames.items.length, 0, 'nothing reached the other charge point')
        assert.equal(t.gw.metrics.get('response_topics_refused_total'), 1)
      } finally {
        await other.close()
      }
    })
  })
}
