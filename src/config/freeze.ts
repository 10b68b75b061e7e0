/**
 * Freeze an object and everything it holds, in place, and return it: the configuration is
 * validated once and then read by many modules, none of which may change it for the others.
 * An object frozen already is still walked (a shallow `Object.freeze` leaves its children
 * writable); cycles are cut; typed arrays cannot be frozen and are left as they are.
 */
export function deepFreeze<T> (value: T, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || seen.has(value)) return value
  seen.add(value)
  Object.freeze(value)
  for (const v of Object.values(value)) deepFreeze(v, seen)
  return value
}
