/** The one table from sub-protocol to charge point model and OCPP-J dialect. */
import { type Dialect, dialects } from '../ocpp/dialect.js'
import { type ChargePointModel, type ModelContext } from './model.js'
import { Model16 } from './model-16.js'
import { Model201 } from './model-201.js'
import { Model21 } from './model-21.js'
import { type SimProtocol } from './options.js'

export interface Profile {
  dialect: Dialect
  create: (ctx: ModelContext) => ChargePointModel
}

export const profiles: Readonly<Record<SimProtocol, Profile>> = Object.freeze({
  'ocpp1.6': { dialect: dialects['1.6'], create: (ctx: ModelContext) => new Model16(ctx) },
  'ocpp2.0.1': { dialect: dialects['2.0.1'], create: (ctx: ModelContext) => new Model201(ctx) },
  'ocpp2.1': { dialect: dialects['2.1'], create: (ctx: ModelContext) => new Model21(ctx) }
})
