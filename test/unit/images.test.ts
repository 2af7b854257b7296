import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseBuildPath, type BuildFacts } from '../../src/images/build-path.js';
import { followDockerStream, progressLines } from '../../src/runtime/docker-progress.js';
import {
  IMAGES_DIR,
  hashImageInputs,
  imageRefs,
  nodeImageRef,
  readImageInputs,
  type ImageInputFile,
} from '../../src/images/image-inputs.js';

const file = (filePath: string, content: string): ImageInputFile => ({
  path: filePath,
  content: Buffer.from(content),
});

const inputs: ImageInputFile[] = [
  file('packages.txt', 'frr\nnginx-light\n'),
  file('base/build.sh', '#!/bin/sh\nmmdebstrap ...\n'),
  file('node/Dockerfile', 'ARG BASE\nFROM $BASE\n'),
  file('node/finish.sh', 'chown -R frr:frr /etc/frr\n'),
];

describe('hashImageInputs', () => {
  it('is 12 hex digits and the same for the same files in any order', () => {
    const hash = hashImageInputs(inputs);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(hashImageInputs([...inputs].reverse())).toBe(hash);
    expect(hashImageInputs(inputs.map((f) => file(f.path, f.content.toString())))).toBe(hash);
  });

  it.each(inputs.map((f) => f.path))('changes when %s changes', (changedPath) => {
    const changed = inputs.map((f) => (f.path === changedPath ? file(f.path, `${f.content}# edit\n`) : f));
    expect(hashImageInputs(changed)).not.toBe(hashImageInputs(inputs));
  });

  it('changes when a file is added, removed or renamed', () => {
    const hash = hashImageInputs(inputs);
    expect(hashImageInputs([...inputs, file('node/extra.conf', '')])).not.toBe(hash);
    expect(hashImageInputs(inputs.slice(1))).not.toBe(hash);
    const renamed = inputs.map((f) =>
      f.path === 'node/finish.sh' ? file('node/setup.sh', f.content.toString()) : f,
    );
    expect(hashImageInputs(renamed)).not.toBe(hash);
  });

  it('does not let content slide across a file boundary', () => {
    expect(hashImageInputs([file('a', 'xy'), file('b', 'z')])).not.toBe(
      hashImageInputs([file('a', 'x'), file('b', 'yz')]),
    );
  });
});

describe('imageRefs', () => {
  it('names node and base images by their hashes', () => {
    const refs = imageRefs(inputs);
    expect(refs.nodeRef).toBe(`lblab/node:${refs.nodeHash}`);
    expect(refs.baseRef).toBe(`lblab/base:${refs.baseHash}`);
    expect(refs.baseHash).not.toBe(refs.nodeHash);
  });

  it('keeps the base when only the node Dockerfile changes, and rebuilds both when the package list changes', () => {
    const before = imageRefs(inputs);
    const dockerfileEdit = imageRefs(
      inputs.map((f) =>
        f.path === 'node/Dockerfile' ? file(f.path, 'ARG BASE\nFROM $BASE\nRUN true\n') : f,
      ),
    );
    expect(dockerfileEdit.baseRef).toBe(before.baseRef);
    expect(dockerfileEdit.nodeRef).not.toBe(before.nodeRef);

    const packagesEdit = imageRefs(
      inputs.map((f) => (f.path === 'packages.txt' ? file(f.path, 'frr\nnginx-light\nbird2\n') : f)),
    );
    expect(packagesEdit.baseRef).not.toBe(before.baseRef);
    expect(packagesEdit.nodeRef).not.toBe(before.nodeRef);
  });
});

describe('nodeImageRef on a directory', () => {
  let scratch: string | undefined;
  afterEach(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  it('reads every file under images/, nested ones included', async () => {
    const paths = (await readImageInputs()).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['packages.txt', 'base/build.sh', 'node/Dockerfile']));
  });

  it('follows edits to any file of a copy of images/', async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'lblab-images-test-'));
    await cp(IMAGES_DIR, scratch, { recursive: true });
    const original = await nodeImageRef(scratch);
    expect(original).toBe(await nodeImageRef(IMAGES_DIR));
    expect(original).toMatch(/^lblab\/node:[0-9a-f]{12}$/);

    await writeFile(path.join(scratch, 'node', 'Dockerfile'), 'FROM scratch\n');
    expect(await nodeImageRef(scratch)).not.toBe(original);
  });
});

describe('chooseBuildPath', () => {
  const facts = (overrides: Partial<BuildFacts>): BuildFacts => ({
    basePresent: false,
    registryReachable: false,
    mmdebstrapInstalled: true,
    runningAsRoot: true,
    ...overrides,
  });

  it('reuses an existing base even when a registry is reachable', () => {
    expect(chooseBuildPath(facts({ basePresent: true, registryReachable: true }))).toEqual({
      source: 'debian-packages',
      buildBase: false,
    });
  });

  it('reuses an existing base without mmdebstrap or root', () => {
    expect(
      chooseBuildPath(facts({ basePresent: true, mmdebstrapInstalled: false, runningAsRoot: false })),
    ).toEqual({ source: 'debian-packages', buildBase: false });
  });

  it('uses the registry when there is no base and it is reachable', () => {
    expect(chooseBuildPath(facts({ registryReachable: true, mmdebstrapInstalled: false }))).toEqual({
      source: 'registry',
    });
  });

  it('builds the base from Debian packages without a registry', () => {
    expect(chooseBuildPath(facts({}))).toEqual({ source: 'debian-packages', buildBase: true });
  });

  it('says how to install mmdebstrap when it is needed and missing', () => {
    expect(() => chooseBuildPath(facts({ mmdebstrapInstalled: false }))).toThrow(
      /apt-get install mmdebstrap/,
    );
  });

  it('says root is needed for mmdebstrap', () => {
    expect(() => chooseBuildPath(facts({ runningAsRoot: false }))).toThrow(/needs root/);
  });
});

describe('docker progress', () => {
  it('shows build output and statuses but not download progress bars', () => {
    expect(progressLines({ stream: 'Step 1/4 : ARG BASE\n' })).toEqual(['Step 1/4 : ARG BASE']);
    expect(progressLines({ stream: 'a\n\nb\n' })).toEqual(['a', 'b']);
    expect(progressLines({ stream: '\u001b[91mE: broken\n\u001b[0m' })).toEqual(['E: broken']);
    expect(progressLines({ status: 'Pulling fs layer', id: 'abc' })).toEqual(['abc: Pulling fs layer']);
    expect(progressLines({ status: 'Downloading', id: 'abc', progress: '[==>   ]' })).toEqual([]);
  });

  const replay = (events: object[]): PassThrough => {
    const stream = new PassThrough();
    stream.end(events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    return stream;
  };
  // The modem only parses the stream here; nothing connects to an engine.
  const docker = new Dockerode({ socketPath: '/nonexistent.sock' });

  it('resolves on a clean build and passes every line on', async () => {
    const lines: string[] = [];
    await followDockerStream(
      docker,
      replay([{ stream: 'Step 1/2 : FROM x\n' }, { stream: 'Successfully tagged y\n' }]),
      'docker build',
      (line) => lines.push(line),
    );
    expect(lines).toEqual(['Step 1/2 : FROM x', 'Successfully tagged y']);
  });

  it('rejects naming the failing step, its output and the error', async () => {
    const stream = replay([
      { stream: 'Step 3/5 : RUN sh /tmp/lblab/finish.sh\n' },
      { stream: ' ---> Running in ea579c95c79d\n' },
      { stream: '\u001b[91mE: Unable to locate package bird3\n\u001b[0m' },
      { stream: 'Removing intermediate container ea579c95c79d\n' },
      {
        error: "The command '/bin/sh -c sh /tmp/lblab/finish.sh' returned a non-zero code: 100",
        errorDetail: {
          message: "The command '/bin/sh -c sh /tmp/lblab/finish.sh' returned a non-zero code: 100",
        },
      },
    ]);
    const failure = followDockerStream(docker, stream, 'docker build lblab/node:x', () => {});
    await expect(failure).rejects.toThrow(
      /docker build lblab\/node:x failed at "Step 3\/5 : RUN sh \/tmp\/lblab\/finish.sh": The command .* non-zero code: 100\nE: Unable to locate package bird3$/,
    );
  });
});
