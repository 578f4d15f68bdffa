// Imported first by every entry point, before anything can start libuv's thread pool (it reads
// UV_THREADPOOL_SIZE once, on first use). Node's default is 4 threads whatever the machine; password
// checks (argon2id) run there, and more of them at once than there are cores only trade each
// other's caches: on 2 cores, 4 threads cost ~25 % more CPU per check (npm run bench:signin).
import { availableParallelism } from 'node:os';

// Unset or empty (docker compose passes an unset setting as empty; libuv would read it as 1 thread).
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(2, availableParallelism()));
