export * from './server';
export * from './kubeconfig';
export * from './certs';
