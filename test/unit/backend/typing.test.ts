/**
 * The typed API, checked by the compiler (this file must build): payloads and answers per
 * Action and version, literals kept, wrong ones refused (`@ts-expect-error` fails the build if
 * the line compiles). At run time it only registers handlers on an in-memory broker.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connectBackend, type Request, type Response } from '../../../src/backend/index.js'
import { FakeBroker, memoryLogger } from '../../helpers/fake-transport.js'

test('typed handlers and Calls compile; wrong payloads do not', async () => {
  const backend = await connectBackend({ transport: new FakeBroker().transport(), logger: memoryLogger() })
  backend.handle('BootNotification', () => ({ status: 'Accepted', currentTime: 'now', interval: 300 }))
  // @ts-expect-error -- not a RegistrationStatus
  backend.handle('BootNotification', () => ({ status: 'Maybe', currentTime: 'now', interval: 300 }))
  backend.version('1.6').handle('StartTransaction', (_ctx, req) => ({ transactionId: req.connectorId, idTagInfo: { status: 'Accepted' } }))
  backend.version('2.0.1').handle('TransactionEvent', (_ctx, req) => (req.eventType === 'Started' ? { idTokenInfo: { status: 'Accepted' } } : {}))
  // @ts-expect-error -- StartTransaction is not a 2.0.1 action
  backend.version('2.0.1').handle('StartTransaction', () => ({}))
  backend.version('2.1').handle('NotifyPeriodicEventStream', () => {})
  const reset16: Request<'1.6', 'Reset'> = { type: 'Soft' }
  const reset201: Request<'2.0.1', 'Reset'> = { type: 'Immediate' }
  // @ts-expect-error -- 1.6 has Soft/Hard only
  const wrong: Request<'1.6', 'Reset'> = { type: 'Immediate' }
  const answer: Response<'2.0.1', 'GetVariables'> = { getVariableResult: [] }
  assert.ok(reset16 !== undefined && reset201 !== undefined && wrong !== undefined && answer !== undefined)
  const typed = (): Promise<Response<'1.6', 'GetConfiguration'>> => backend.version('1.6').call('CP1', 'GetConfiguration', {})
  assert.equal(typeof typed, 'function')
  await backend.close()
})
