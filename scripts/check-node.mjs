// Fails fast, in one line, when a project script is started on a Node.js older than 24.
// `npm run` puts node_modules/.bin first on PATH, where the `node` devDependency installs Node 24,
// so this only fires when someone calls a script with a system node directly.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `cms-router needs Node.js 24 (found ${process.versions.node}). Run scripts through npm (npm test, npm run demo), ` +
      'which uses the Node 24 that `npm install` put in node_modules/.bin.',
  );
  process.exit(1);
}
