/**
 * v1-shaped create documents on the Windows planes. HNS reads a create document without `SchemaVersion` as v1
 * schema (hcsshim hcn/hcnv1schema_test.go TestV1Network / TestV1Endpoint pass hcsshim.HNSNetwork / HNSEndpoint JSON
 * to HcnCreateNetwork / HcnCreateEndpoint), so a document that is v1-shaped (src/hns/convert.ts looksLikeV1*) goes
 * out as it is, without the SchemaVersion 2.0 the planes add to every v2 document, and with the network named the
 * v1 way (`VirtualNetwork`).
 */
import { SCHEMA_V2, getCI, type HostComputeEndpoint, type HostComputeNetwork } from '../../hns';
import { looksLikeV1Endpoint, looksLikeV1Network } from '../../hns/convert';

export const isV1SchemaDocument = (doc: unknown): boolean => looksLikeV1Network(doc) || looksLikeV1Endpoint(doc);

/** The object HNS gets for a create: a v1 document as given, a v2 one with SchemaVersion 2.0 unless it has one. */
export function createSettingsObject(doc: object): object {
  return isV1SchemaDocument(doc) ? doc : { SchemaVersion: SCHEMA_V2, ...doc };
}

/** The endpoint document with its network: `VirtualNetwork` for a v1 document, `HostComputeNetwork` otherwise. */
export function endpointOnNetwork(doc: HostComputeEndpoint, networkId: string): HostComputeEndpoint {
  if (looksLikeV1Endpoint(doc)) return { ...doc, VirtualNetwork: getCI<string>(doc, 'VirtualNetwork') ?? networkId } as HostComputeEndpoint;
  return { ...doc, HostComputeNetwork: doc.HostComputeNetwork ?? networkId };
}

export const isV1NetworkDocument = (doc: HostComputeNetwork): boolean => looksLikeV1Network(doc);
