// The same floor as echo.c, on bmlab's UDP sockets (the addon, or node:dgram with BMLAB_UDP=dgram):
// every datagram sent straight back. Its CPU per datagram is what the Node runtime and bmlab's socket
// layer cost before a BMC does any work.
//
//   node --import tsx bench/anchors/echo.ts 127.0.0.1 PORT     (prints "ready" once bound)
import { bindUdp } from '../../bmc-emulator/src/index.ts';

const [address, port] = process.argv.slice(2);
if (address === undefined || port === undefined) {
  process.stderr.write('usage: echo.ts ADDRESS PORT\n');
  process.exit(2);
}
const socket = await bindUdp(address, Number(port), (packet) => packet);
process.stdout.write('ready\n');
process.on('SIGTERM', () => void socket.close().then(() => process.exit(0)));
