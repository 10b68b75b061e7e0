export { createValidators, ALL_VERSIONS, type Validators, type ValidatorOptions, type ValidationFailure } from './validators.js'
export { kindOfKeyword } from './error-mapping.js'
export { checkDecision, FORMAT_CHECKING_MODES, CHECK_DECISIONS, type CheckDecision, type Direction, type FormatCheckingConfig, type FormatCheckingMode } from './policy.js'
export { loadPrecompiled, writePrecompiled, type Precompiled } from './standalone.js'
