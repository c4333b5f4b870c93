// The principal type lives with the canonical request types (the kernel carries it); re-exported here.
export { ANONYMOUS, MASTER, type Principal } from '../api/principal.ts';
