import { describe, expect, it } from '@jest/globals';
import { apiRequestOf } from './request-counter.ts';

describe('apiRequestOf labels requests like apiserver_request_total', () => {
  it.each([
    ['GET', '/api/v1/nodes', '', 'LIST', 'nodes'],
    ['GET', '/api/v1/nodes?watch=true&timeoutSeconds=300', '', 'WATCH', 'nodes'],
    ['GET', '/api/v1/nodes?limit=500&watch=1', '', 'WATCH', 'nodes'],
    ['GET', '/api/v1/nodes?watchful=true', '', 'LIST', 'nodes'],
    ['GET', '/api/v1/nodes/n1', '', 'GET', 'nodes'],
    ['PATCH', '/api/v1/nodes/n1', 'application/merge-patch+json', 'PATCH', 'nodes'],
    [
      'PATCH',
      '/apis/node.k8s.io/v1/runtimeclasses/spin?fieldManager=x',
      'application/apply-patch+yaml',
      'APPLY',
      'runtimeclasses',
    ],
    ['POST', '/apis/batch/v1/namespaces/ns/jobs', 'application/json', 'POST', 'jobs'],
    ['DELETE', '/apis/batch/v1/namespaces/ns/jobs/j1', '', 'DELETE', 'jobs'],
    ['DELETE', '/api/v1/nodes', '', 'DELETECOLLECTION', 'nodes'],
    ['PATCH', '/api/v1/namespaces/ns/pods/p1/status', '', 'PATCH', 'pods/status'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', '', 'PUT', 'leases'],
    ['GET', '/api/v1/namespaces/ns', '', 'GET', 'namespaces'],
    ['GET', '/api/v1/namespaces', '', 'LIST', 'namespaces'],
  ])('%s %s', (method, url, contentType, verb, resource) => {
    expect(apiRequestOf(method, url, contentType)).toEqual({ verb, resource });
  });

  it('ignores non-resource paths', () => {
    expect(apiRequestOf('GET', '/version')).toBeUndefined();
    expect(apiRequestOf('GET', '/api/v1')).toBeUndefined();
  });
});
