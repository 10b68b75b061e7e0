import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { authorizationKeyCandidates, CREDENTIAL_ACTIONS, credentialChange } from '../../../src/ocpp/credential-changes.js'

const sv = (variable: string, value: string, component = 'SecurityCtrlr', extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ setVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: '60' }, { component: { name: component }, variable: { name: variable }, attributeValue: value, ...extra }] })
const svr = (status: string, variable = 'BasicAuthPassword', extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ setVariableResult: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeStatus: 'Accepted' }, { component: { name: 'SecurityCtrlr' }, variable: { name: variable }, attributeStatus: status, ...extra }] })

describe('credential changes read from a Call and its CallResult', () => {
  test('only the three actions are looked at', () => {
    assert.deepEqual([...CREDENTIAL_ACTIONS].sort(), ['ChangeConfiguration', 'SetNetworkProfile', 'SetVariables'])
    assert.equal(credentialChange('Reset', { type: 'Soft' }, { status: 'Accepted' }), undefined)
  })

  test('1.6 AuthorizationKey: hex value → its bytes first, then the text; a non-hex value → the text; case-insensitive key', () => {
    assert.deepEqual(authorizationKeyCandidates('41424344'), [Buffer.from('ABCD'), Buffer.from('41424344')])
    assert.deepEqual(authorizationKeyCandidates('not hex!'), [Buffer.from('not hex!')])
    assert.deepEqual(authorizationKeyCandidates('abc'), [Buffer.from('abc')], 'odd length is not hex')
    for (const status of ['Accepted', 'RebootRequired']) {
      assert.deepEqual(credentialChange('ChangeConfiguration', { key: 'authorizationkey', value: 'ff00' }, { status }), { kind: 'password', candidates: [Buffer.from([0xff, 0]), Buffer.from('ff00')] })
    }
    for (const status of ['Rejected', 'NotSupported', undefined]) {
      assert.equal(credentialChange('ChangeConfiguration', { key: 'AuthorizationKey', value: 'ff00' }, { status }), undefined, String(status))
    }
    assert.equal(credentialChange('ChangeConfiguration', { key: 'AuthorizationKey', value: '' }, { status: 'Accepted' }), undefined)
    assert.equal(credentialChange('ChangeConfiguration', { key: 'HeartbeatInterval', value: '60' }, { status: 'Accepted' }), undefined)
  })

  test('1.6 SecurityProfile and 2.x SetNetworkProfile: the profile, when accepted', () => {
    assert.deepEqual(credentialChange('ChangeConfiguration', { key: 'SecurityProfile', value: '2' }, { status: 'Accepted' }), { kind: 'profile', profile: 2 })
    assert.equal(credentialChange('ChangeConfiguration', { key: 'SecurityProfile', value: '7' }, { status: 'Accepted' }), undefined)
    assert.deepEqual(credentialChange('SetNetworkProfile', { configurationSlot: 1, connectionData: { securityProfile: 3 } }, { status: 'Accepted' }), { kind: 'profile', profile: 3 })
    assert.equal(credentialChange('SetNetworkProfile', { configurationSlot: 1, connectionData: { securityProfile: 3 } }, { status: 'Rejected' }), undefined)
    assert.equal(credentialChange('SetNetworkProfile', { configurationSlot: 1 }, { status: 'Accepted' }), undefined)
  })

  test('2.x SetVariables BasicAuthPassword: its own result decides; other variables, components and attribute types do not count', () => {
    assert.deepEqual(credentialChange('SetVariables', sv('BasicAuthPassword', 'new-pass-0123456'), svr('Accepted')), { kind: 'password', candidates: [Buffer.from('new-pass-0123456')] })
    assert.deepEqual(credentialChange('SetVariables', sv('basicauthpassword', 'p', 'securityctrlr'), svr('RebootRequired')), { kind: 'password', candidates: [Buffer.from('p')] })
    assert.equal(credentialChange('SetVariables', sv('BasicAuthPassword', 'x'), svr('Rejected')), undefined)
    assert.equal(credentialChange('SetVariables', sv('BasicAuthPassword', 'x'), { setVariableResult: [] }), undefined, 'no result for it')
    assert.equal(credentialChange('SetVariables', sv('Identity', 'x'), svr('Accepted', 'Identity')), undefined)
    assert.equal(credentialChange('SetVariables', sv('BasicAuthPassword', 'x', 'OtherCtrlr'), svr('Accepted')), undefined)
    assert.equal(credentialChange('SetVariables', sv('BasicAuthPassword', 'x', 'SecurityCtrlr', { attributeType: 'Target' }), svr('Accepted', 'BasicAuthPassword', { attributeType: 'Target' })), undefined)
    assert.equal(credentialChange('SetVariables', { setVariableData: 'nonsense' }, { setVariableResult: 7 }), undefined)
  })
})
