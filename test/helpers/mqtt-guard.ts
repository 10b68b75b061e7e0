/** Small socket helpers of the MQTT guard suites. */
import { connect } from 'node:net'
import { writeFile } from 'node:fs/promises'
import mqtt, { type MqttClient } from 'mqtt'
import { inboxOf } from './clients.js'
import { FILE_HEADER, upsertEntry } from '../../src/auth/credentials-format.js'
import { hashPassword } from '../../src/auth/password-hash.js'

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** A client's CONNACK outcome: connected, or refused with its return code (MQTT 3.1.1 §3.2.2.3). */
export async function tryConnect (url: string, opts: { username?: string, password?: string, clientId?: string } = {}): Promise<{ client?: MqttClient, refused?: number }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, clientId: `t-${Math.random().toString(16).slice(2)}`, ...opts })
  return await new Promise((resolve, reject) => {
    client.once('connect', () => resolve({ client }))
    // Closed without a CONNACK (e.g. max_clients): no 'error' comes, only 'close'.
    client.once('close', () => { if (!client.connected) reject(new Error('closed before CONNACK')) })
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true)
      if (typeof err.code === 'number') resolve({ refused: err.code })
      else reject(err)
    })
  })
}

export { inboxOf }

/** A users file (the charge points' credentials format) with these users and passwords. */
export async function writeUsersFile (file: string, users: Record<string, string>): Promise<void> {
  let text = FILE_HEADER
  for (const [user, password] of Object.entries(users)) text = upsertEntry(text, user, await hashPassword(password, { N: 1024, r: 8, p: 1 })).text
  await writeFile(file, text)
}
