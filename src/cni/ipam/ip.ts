/**
 * The allocator's view of src/net/ip: Go's net.ParseIP / net.ParseCIDR semantics (surrounding space ignored,
 * IPv4-mapped addresses are IPv4) under the names the CNI plugins import. The arithmetic lives in src/net.
 */
import { parseCidrGo, parseIpGo } from '../../net/ip';

export { contains, formatCidr as formatCIDR, formatIp as formatIP, networkOf, type IP, type IPNet } from '../../net/ip';
export const parseIP = parseIpGo;
export const parseCIDR = parseCidrGo;
