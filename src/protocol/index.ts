export * from './address.js';
export * from './bitfield.js';
export * from './codec.js';
export * from './fields.js';
export * from './messages.js';
export * from './reader.js';
export * from './query.js';
export * from './part.js';
