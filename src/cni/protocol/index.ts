export * from './versions';
export * from './errors';
export * from './gojson';
export * from './godecode';
export * from './gojson-print';
export * from './result';
export * from './skel';
