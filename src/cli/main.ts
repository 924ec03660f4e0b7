#!/usr/bin/env node
// Placeholder entry replaced by the CLI work; kept compiling so the build pipeline can be exercised.
console.log('switchyard');
