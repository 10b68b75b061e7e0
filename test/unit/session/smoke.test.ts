import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession } from '../../helpers/fake-backend.js'

test('a Call from the charge point is forwarded to the backend port with its text', () => {
  const { socket, backend } = fakeSession()
  socket.receive([2, 'm1', 'Heartbeat', {}])
  const [fwd] = backend.of('forward')
  assert.equal(fwd?.frame.id, 'm1')
  assert.equal(fwd?.action, 'Heartbeat')
  assert.equal(fwd?.text, '[2,"m1","Heartbeat",{}]')
})
