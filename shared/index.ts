export * from './constants';
export * from './errors';
export * from './events';
export * from './schemas';
export * from './relay-frame';
export * from './egress';
export * from './sfu';
