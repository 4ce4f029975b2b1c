/**
 * The neon stand-in's records: one JSON file per project under
 * `$LOCALCLOUD_STATE_DIR/neon/projects/<projectId>.json` holding its branches (each with its
 * roles and databases, as in Neon) and endpoints. Role passwords are kept there (mode 600), as
 * Neon keeps them when `storePassword` is "yes".
 */
import * as path from "node:path";
import { localcloudPaths } from "../../services/env";
import { randomDigits, randomLowerAlnum, wordPair } from "../common/ids";
import { JsonStore } from "../common/store";
import type { Props } from "../common/values";

export interface RoleRecord {
    name: string;
    password: string;
    protected: boolean;
    createdAt: string;
}

export interface DatabaseRecord {
    id: number;
    name: string;
    ownerName: string;
    createdAt: string;
}

export interface BranchRecord {
    id: string;
    name: string;
    parentId: string | null;
    parentLsn: string | null;
    parentTimestamp: number | null;
    protected: string;
    primary: boolean;
    createdAt: string;
    roles: Record<string, RoleRecord>;
    databases: Record<string, DatabaseRecord>;
}

export interface EndpointRecord {
    id: string;
    branchId: string;
    type: "read_write" | "read_only";
    /** The Endpoint resource's inputs (or the project's default endpoint settings). */
    settings: Props;
    createdAt: string;
}

export interface ProjectRecord {
    id: string;
    /** The Project resource's inputs as last applied. */
    settings: Props;
    createdAt: string;
    defaultBranchId: string;
    defaultEndpointId: string;
    nextDatabaseId: number;
    branches: Record<string, BranchRecord>;
    endpoints: Record<string, EndpointRecord>;
}

export function projectStore(): JsonStore<ProjectRecord> {
    return new JsonStore<ProjectRecord>(path.join(localcloudPaths().stateDir, "neon", "projects"));
}

/** Neon's id formats: `polished-shape-60485499`, `br-wispy-meadow-a5x2y3z4`, `ep-cool-dawn-a1b2c3d4`. */
export const newProjectId = (): string => `${wordPair()}-${randomDigits(8)}`;
export const newBranchId = (): string => `br-${wordPair()}-${randomLowerAlnum(8)}`;
export const newEndpointId = (): string => `ep-${wordPair()}-${randomLowerAlnum(8)}`;

/** `<projectId>/<branchId>/<name>`: the Terraform provider's id of roles and databases. */
export function complexId(projectId: string, branchId: string, name: string): string {
    return `${projectId}/${branchId}/${name}`;
}

export function parseComplexId(id: string): { projectId: string; branchId: string; name: string } | undefined {
    const parts = id.split("/");
    if (parts.length !== 3) return undefined;
    return { projectId: parts[0], branchId: parts[1], name: parts[2] };
}

export const DEFAULT_BRANCH_NAME = "main";
export const DEFAULT_ROLE_NAME = "neondb_owner";
export const DEFAULT_DATABASE_NAME = "neondb";
export const DEFAULT_REGION = "aws-us-east-2";
export const DEFAULT_PG_VERSION = 17;

/** The project's branches that reference a role name (so its PostgreSQL role must stay). */
export function branchesWithRole(p: ProjectRecord, roleName: string): BranchRecord[] {
    return Object.values(p.branches).filter((b) => roleName in b.roles);
}
