/**
 * Readiness for load balancers and Kubernetes: every OCPP listener bound and accepting, and
 * the MQTT side connected (the embedded broker always is; an external one when its client is).
 */
export interface ReadinessSources {
  listeners: () => Array<{ name: string, listening: boolean }>
  mqttConnected: () => boolean
}

export interface Readiness {
  ready: boolean
  listeners: Record<string, boolean>
  mqtt: boolean
}

export function readiness (src: ReadinessSources): Readiness {
  const listeners: Record<string, boolean> = {}
  for (const l of src.listeners()) listeners[l.name] = l.listening
  const mqtt = src.mqttConnected()
  return { ready: mqtt && Object.values(listeners).every(Boolean), listeners, mqtt }
}
