/** Small socket helpers of the MQTT guard suites. */
import { connect } from 'node:net'

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
