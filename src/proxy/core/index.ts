/** The proxy's pure core: Services + EndpointSlices + node facts → HNS load balancer and remote endpoint documents. */
export * from './types';
export * from './addr';
export * from './endpoints';
export * from './plan';
export * from './documents';
export * from './health';
