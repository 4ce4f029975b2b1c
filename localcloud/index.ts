/**
 * The offline wing's one entry point for the product's commands (`ops/`), which load it
 * lazily through `localCloud()` in `ops/env.ts`, only for stacks marked
 * `fpsgame-infra:localCloud: true`.
 */
export { basePath, localEdgeResolve, localStackEnv, toolchainPath } from "./stackEnv";
export { ensureLocalCloud, localCloudStatus, stopLocalCloud } from "./control";
export { printLocalSummary } from "./summary";
