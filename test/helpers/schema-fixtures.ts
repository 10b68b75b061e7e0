/** Realistic payloads, as real charge points and backends send them, per version. */
import type { OcppVersion } from '../../src/ocpp/dialect.js'

export interface Example {
  version: OcppVersion
  action: string
  direction: 'request' | 'response'
  payload: Record<string, unknown>
}

const ts = '2024-05-06T07:08:09.123Z'

const boot16 = {
  chargePointVendor: 'VendorX',
  chargePointModel: 'AC-22-T2S',
  chargePointSerialNumber: 'CP-2024-000123',
  chargeBoxSerialNumber: 'CB-2024-000123',
  firmwareVersion: '4.2.1-rc3+build.778',
  iccid: '8931440400000000000',
  imsi: '204080000000000',
  meterType: 'EM340-DIN',
  meterSerialNumber: 'MTR-99887766'
}

const meterValues16 = {
  connectorId: 1,
  transactionId: 42,
  meterValue: [{
    timestamp: ts,
    sampledValue: [
      { value: '12345.6', context: 'Sample.Periodic', format: 'Raw', measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
      { value: '16.1', context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L1', location: 'Outlet', unit: 'A' },
      { value: '230.4', measurand: 'Voltage', phase: 'L1-N', unit: 'V' },
      { value: '11040', measurand: 'Power.Active.Import', unit: 'W' },
      { value: '54', measurand: 'SoC', location: 'EV', unit: 'Percent' },
      { value: '31.5', measurand: 'Temperature', location: 'Body', unit: 'Celsius' }
    ]
  }]
}

const bootV2 = {
  reason: 'PowerUp',
  chargingStation: {
    model: 'DC-150-CCS',
    vendorName: 'VendorX',
    serialNumber: 'CS-2024-000456',
    firmwareVersion: '2.0.1-p4',
    modem: { iccid: '8931440400000000000', imsi: '204080000000000' }
  }
}

const meterValuesV2 = {
  evseId: 1,
  meterValue: [{
    timestamp: ts,
    sampledValue: [
      { value: 12345.6, context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', location: 'Outlet', unitOfMeasure: { unit: 'Wh', multiplier: 0 } },
      { value: 16.1, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } },
      { value: 54, measurand: 'SoC', location: 'EV' }
    ]
  }]
}

const transactionEventV2 = {
  eventType: 'Started',
  timestamp: ts,
  triggerReason: 'Authorized',
  seqNo: 0,
  offline: false,
  numberOfPhasesUsed: 3,
  cableMaxCurrent: 32,
  transactionInfo: { transactionId: 'f3a9c2e4-1b2d-4c5e-8f90-123456789abc', chargingState: 'EVConnected' },
  evse: { id: 1, connectorId: 1 },
  idToken: { idToken: '04A1B2C3D4E5F6', type: 'ISO14443' },
  meterValue: [{
    timestamp: ts,
    sampledValue: [{ value: 0, context: 'Transaction.Begin', measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }]
  }],
  customData: { vendorId: 'com.vendorx', firmwareBuild: 778 }
}

const notifyReportV2 = {
  requestId: 7,
  generatedAt: ts,
  tbc: false,
  seqNo: 0,
  reportData: [
    {
      component: { name: 'ChargingStation' },
      variable: { name: 'AvailabilityState' },
      variableAttribute: [{ type: 'Actual', value: 'Available', mutability: 'ReadOnly', persistent: true, constant: false }],
      variableCharacteristics: { dataType: 'OptionList', supportsMonitoring: true, valuesList: 'Available,Occupied,Reserved,Unavailable,Faulted' }
    },
    {
      component: { name: 'EVSE', evse: { id: 1 } },
      variable: { name: 'Power', instance: 'Max' },
      variableAttribute: [{ type: 'Actual', value: '150000', mutability: 'ReadOnly' }],
      variableCharacteristics: { unit: 'W', dataType: 'decimal', maxLimit: 150000, supportsMonitoring: true }
    },
    {
      component: { name: 'OCPPCommCtrlr' },
      variable: { name: 'HeartbeatInterval' },
      variableAttribute: [{ type: 'Actual', value: '300', mutability: 'ReadWrite', persistent: true }],
      variableCharacteristics: { unit: 's', dataType: 'integer', minLimit: 1, supportsMonitoring: false }
    }
  ]
}

export const realistic: Example[] = [
  { version: '1.6', action: 'BootNotification', direction: 'request', payload: boot16 },
  { version: '1.6', action: 'BootNotification', direction: 'response', payload: { status: 'Accepted', currentTime: ts, interval: 300 } },
  { version: '1.6', action: 'MeterValues', direction: 'request', payload: meterValues16 },
  { version: '1.6', action: 'MeterValues', direction: 'response', payload: {} },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: ts, info: 'cable locked', vendorId: 'com.vendorx', vendorErrorCode: '0x0000' } },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: 0, errorCode: 'OtherError', status: 'Faulted' } },
  { version: '1.6', action: 'StatusNotification', direction: 'response', payload: {} },
  { version: '1.6', action: 'SetChargingProfile', direction: 'request', payload: { connectorId: 1, csChargingProfiles: { chargingProfileId: 9, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16.3 }, { startPeriod: 3600, limit: 0.3, numberPhases: 3 }] } } } },
  { version: '1.6', action: 'SignCertificate', direction: 'request', payload: { csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----' } },
  { version: '1.6', action: 'SecurityEventNotification', direction: 'request', payload: { type: 'FirmwareUpdated', timestamp: ts, techInfo: '4.2.1' } }
]
for (const version of ['2.0.1', '2.1'] as const) {
  realistic.push(
    { version, action: 'BootNotification', direction: 'request', payload: bootV2 },
    { version, action: 'BootNotification', direction: 'response', payload: { currentTime: ts, interval: 300, status: 'Accepted', statusInfo: { reasonCode: 'OK' } } },
    { version, action: 'MeterValues', direction: 'request', payload: meterValuesV2 },
    { version, action: 'MeterValues', direction: 'response', payload: {} },
    { version, action: 'StatusNotification', direction: 'request', payload: { timestamp: ts, connectorStatus: 'Occupied', evseId: 1, connectorId: 1 } },
    { version, action: 'StatusNotification', direction: 'response', payload: {} },
    { version, action: 'TransactionEvent', direction: 'request', payload: transactionEventV2 },
    { version, action: 'TransactionEvent', direction: 'response', payload: { totalCost: 0, idTokenInfo: { status: 'Accepted' } } },
    { version, action: 'NotifyReport', direction: 'request', payload: notifyReportV2 },
    { version, action: 'NotifyReport', direction: 'response', payload: {} },
    { version, action: 'GetVariables', direction: 'request', payload: { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] } }
  )
}

/** A payload for one of each error kind, per version, with the field the message must name. */
export interface InvalidExample extends Example {
  kind: 'formatViolation' | 'occurrenceConstraint' | 'typeConstraint' | 'propertyConstraint'
  /** JSON pointer the message starts with. */
  pointer: string
  keyword: string
}

function without<T extends Record<string, unknown>> (obj: T, key: keyof T): Record<string, unknown> {
  const { [key]: _gone, ...rest } = obj
  return rest
}

const hash = { hashAlgorithm: 'SHA256', issuerNameHash: 'a1', issuerKeyHash: 'b2', serialNumber: 'c3', responderURL: 'https://ocsp.example.com' }

export const invalid: InvalidExample[] = [
  // 1.6
  { version: '1.6', action: 'BootNotification', direction: 'request', payload: without(boot16, 'chargePointModel'), kind: 'occurrenceConstraint', pointer: '/chargePointModel', keyword: 'required' },
  { version: '1.6', action: 'GetInstalledCertificateIds', direction: 'response', payload: { status: 'Accepted', certificateHashData: [] }, kind: 'occurrenceConstraint', pointer: '/certificateHashData', keyword: 'minItems' },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: '1', errorCode: 'NoError', status: 'Available' }, kind: 'typeConstraint', pointer: '/connectorId', keyword: 'type' },
  { version: '1.6', action: 'MeterValues', direction: 'request', payload: { ...meterValues16, transactionId: 42.5 }, kind: 'typeConstraint', pointer: '/transactionId', keyword: 'type' },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: 1, errorCode: 'NoError', status: 'Broken' }, kind: 'propertyConstraint', pointer: '/status', keyword: 'enum' },
  { version: '1.6', action: 'BootNotification', direction: 'request', payload: { ...boot16, chargePointVendor: 'V'.repeat(21) }, kind: 'propertyConstraint', pointer: '/chargePointVendor', keyword: 'maxLength' },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: '2024-05-06 07:08:09' }, kind: 'propertyConstraint', pointer: '/timestamp', keyword: 'format' },
  { version: '1.6', action: 'StatusNotification', direction: 'request', payload: { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: '2024-05-06T07:08:09' }, kind: 'propertyConstraint', pointer: '/timestamp', keyword: 'format' },
  { version: '1.6', action: 'UpdateFirmware', direction: 'request', payload: { location: 'not a uri', retrieveDate: ts }, kind: 'propertyConstraint', pointer: '/location', keyword: 'format' },
  { version: '1.6', action: 'SetChargingProfile', direction: 'request', payload: { connectorId: 1, csChargingProfiles: { chargingProfileId: 9, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16.05 }] } } }, kind: 'propertyConstraint', pointer: '/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/0/limit', keyword: 'multipleOf' },
  { version: '1.6', action: 'MeterValues', direction: 'request', payload: { ...meterValues16, meterValue: [{ timestamp: ts, sampledValue: [{ value: '1' }, { value: '2', measurand: 'Energy.Bogus' }] }] }, kind: 'propertyConstraint', pointer: '/meterValue/0/sampledValue/1/measurand', keyword: 'enum' },
  { version: '1.6', action: 'BootNotification', direction: 'request', payload: { ...boot16, chargePointVendorId: 'x' }, kind: 'formatViolation', pointer: '/chargePointVendorId', keyword: 'additionalProperties' },
  { version: '1.6', action: 'Heartbeat', direction: 'response', payload: { currentTime: ts, interval: 60 }, kind: 'formatViolation', pointer: '/interval', keyword: 'additionalProperties' },
  { version: '1.6', action: 'BootNotification', direction: 'response', payload: { status: 'Accepted', currentTime: ts }, kind: 'occurrenceConstraint', pointer: '/interval', keyword: 'required' }
]
for (const version of ['2.0.1', '2.1'] as const) {
  invalid.push(
    { version, action: 'BootNotification', direction: 'request', payload: { ...bootV2, chargingStation: without(bootV2.chargingStation, 'model') }, kind: 'occurrenceConstraint', pointer: '/chargingStation/model', keyword: 'required' },
    { version, action: 'Authorize', direction: 'request', payload: { idToken: { idToken: 'A1', type: 'ISO14443' }, iso15118CertificateHashData: [hash, hash, hash, hash, hash] }, kind: 'occurrenceConstraint', pointer: '/iso15118CertificateHashData', keyword: 'maxItems' },
    { version, action: 'MeterValues', direction: 'request', payload: { evseId: 1, meterValue: [] }, kind: 'occurrenceConstraint', pointer: '/meterValue', keyword: 'minItems' },
    { version, action: 'StatusNotification', direction: 'request', payload: { timestamp: ts, connectorStatus: 'Occupied', evseId: '1', connectorId: 1 }, kind: 'typeConstraint', pointer: '/evseId', keyword: 'type' },
    { version, action: 'TransactionEvent', direction: 'request', payload: { ...transactionEventV2, offline: 'false' }, kind: 'typeConstraint', pointer: '/offline', keyword: 'type' },
    { version, action: 'StatusNotification', direction: 'request', payload: { timestamp: ts, connectorStatus: 'Charging', evseId: 1, connectorId: 1 }, kind: 'propertyConstraint', pointer: '/connectorStatus', keyword: 'enum' },
    { version, action: 'TransactionEvent', direction: 'request', payload: { ...transactionEventV2, transactionInfo: { transactionId: 'x'.repeat(37) } }, kind: 'propertyConstraint', pointer: '/transactionInfo/transactionId', keyword: 'maxLength' },
    { version, action: 'TransactionEvent', direction: 'request', payload: { ...transactionEventV2, timestamp: '06/05/2024 07:08' }, kind: 'propertyConstraint', pointer: '/timestamp', keyword: 'format' },
    { version, action: 'NotifyEVChargingNeeds', direction: 'request', payload: { evseId: 1, chargingNeeds: { requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 200, evMaxVoltage: 800, stateOfCharge: 101 } } }, kind: 'propertyConstraint', pointer: '/chargingNeeds/dcChargingParameters/stateOfCharge', keyword: 'maximum' },
    { version, action: 'NotifyReport', direction: 'request', payload: { ...notifyReportV2, reportData: [notifyReportV2.reportData[0], { ...notifyReportV2.reportData[1], variable: { name: 'Power', instanceName: 'Max' } }] }, kind: 'formatViolation', pointer: '/reportData/1/variable/instanceName', keyword: 'additionalProperties' },
    { version, action: 'TransactionEvent', direction: 'response', payload: { idTokenInfo: { status: 'Accepted', cacheExpiryDateTime: 'tomorrow' } }, kind: 'propertyConstraint', pointer: '/idTokenInfo/cacheExpiryDateTime', keyword: 'format' }
  )
}
invalid.push(
  // 2.1 only: minimum on ids (2.0.1 has none there)
  { version: '2.1', action: 'StatusNotification', direction: 'request', payload: { timestamp: ts, connectorStatus: 'Occupied', evseId: -1, connectorId: 1 }, kind: 'propertyConstraint', pointer: '/evseId', keyword: 'minimum' },
  { version: '2.1', action: 'NotifyPeriodicEventStream', direction: 'request', payload: { id: 1, pending: 0, basetime: ts, data: [{ t: 1.5, v: 230.1 }] }, kind: 'typeConstraint', pointer: '/data/0/v', keyword: 'type' }
)
