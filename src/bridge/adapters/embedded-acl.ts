/**
 * The ACL of ../mqtt-acl.ts as aedes hooks, for clients of the embedded broker (the gateway
 * itself publishes with aedes.publish and subscribes with aedes.subscribe, which pass through
 * none of these).
 *
 * - authorizePublish: a refused PUBLISH is dropped. A 3.1.1 client is disconnected: §3.3.5
 *   leaves a positive ack or closing the connection, aedes only offers the second, and a
 *   silent ack would leave a misconfigured backend believing its Calls went out. An MQTT 5
 *   client gets PUBACK/PUBREC 0x87 (Not authorized) and stays connected (aedes 2). The client's Will passes here too, so
 *   no one leaves a forged charger message behind as its Will.
 * - authorizeSubscribe: a filter that can match nothing the role may read gets SUBACK 0x80
 *   (0x87 for MQTT 5); a shared subscription is judged by its filter (`$share/g/f`: f).
 * - authorizeForward: every delivered message (retained ones included) is checked against what
 *   the role may read, so `#` or `ocpp/#` is granted but delivers only readable topics: aedes
 *   cannot narrow one subscription into several, and refusing `#` would break the common
 *   "watch everything" backend (`mosquitto_sub -t 'ocpp/#'`).
 */
import type { AedesOptions, Client } from 'aedes'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import type { MqttAcl } from '../mqtt-acl.js'
import type { EmbeddedAuth } from './embedded-auth.js'
import { plainFilter } from './shared-subscriptions.js'

type Hooks = Pick<AedesOptions, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>

export function aclHooks (acl: MqttAcl, auth: EmbeddedAuth, logger: Logger, metrics?: Metrics): Hooks {
  const roleOf = (client: Client | null): ReturnType<EmbeddedAuth['identity']> => (client === null ? undefined : auth.identity(client))
  return {
    authorizePublish: (client, packet, callback) => {
      const who = roleOf(client)
      // No identity: a Will left by a client of another broker process (aedes passes null),
      // or a client that never authenticated. Fail closed.
      if (who !== undefined && acl.canPublish(who.role, packet.topic)) { callback(null); return }
      metrics?.inc('mqtt_publish_denied_total', who?.role ?? 'unknown')
      logger.warn({ client: client?.id, username: who?.username, role: who?.role, topic: packet.topic }, 'MQTT publish refused: not allowed for this role; closing the client')
      callback(new Error(`publish to ${packet.topic} not allowed`))
    },
    authorizeSubscribe: (client, sub, callback) => {
      const who = roleOf(client)
      if (who !== undefined && acl.canSubscribe(who.role, plainFilter(sub.topic))) { callback(null, sub); return }
      metrics?.inc('mqtt_subscribe_denied_total', who?.role ?? 'unknown')
      logger.warn({ client: client.id, username: who?.username, role: who?.role, filter: sub.topic }, 'MQTT subscription refused: matches nothing this role may read')
      // A null subscription is aedes' way to answer SUBACK 0x80 for this filter alone.
      callback(null, null)
    },
    authorizeForward: (client, packet) => {
      const who = roleOf(client)
      return who !== undefined && acl.canRead(who.role, packet.topic) ? packet : null
    }
  }
}
