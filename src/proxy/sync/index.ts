/** The service proxy's sync: the in-memory model, incremental and full syncs, ownership, coexistence. */
export * from './proxy';
export * from './ownership';
export * from './counters';
export * from './coexistence';
export * from './facts';
export * from './model';
export * from './owned';
