/**
 * Pulumi's wire sentinels, taken from the SDK rather than copied: the key and value that mark
 * a secret (`{ [SECRET_SIG_KEY]: SECRET_SIG, value }`) and the string that stands for a value
 * not known yet (during preview). Provider plugins receive them in `Struct.toJavaScript()`
 * output; Pulumi mocks record secret inputs in the same form.
 */
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

/** The key that marks a special value (secret, asset, resource reference) in the wire format. */
export const SECRET_SIG_KEY: typeof specialSigKey = specialSigKey;
/** The value under {@link SECRET_SIG_KEY} that marks a secret. */
export const SECRET_SIG: typeof specialSecretSig = specialSecretSig;
/** The wire form of an unknown (preview-time) value. */
export const UNKNOWN: typeof unknownValue = unknownValue;
