import { MemoryBackend } from '../src/memory/memory-backend';
import { MemoryAdapters } from '../src/memory/memory.adapters';
import { registerStoreAdaptersSuite } from '../src/testing';

/** The in-process adapters pass every port's conformance suite; two sets on one backend act as two instances. */
const backend = new MemoryBackend();
registerStoreAdaptersSuite('memory', { create: () => new MemoryAdapters({ backend }) });
