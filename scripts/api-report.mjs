// The public-API reports in api/: one per entry point of package.json "exports", made by API
// Extractor from the built ES-module declarations (npm run build first).
//   node scripts/api-report.mjs          check: fails when the build's API differs from api/
//   node scripts/api-report.mjs --local  update: rewrites the reports in api/
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const local = process.argv.includes('--local');
const packageJsonPath = join(root, 'package.json');
const { name, exports } = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
const configPath = join(root, 'api/api-extractor.json');

// "." -> nestjs-warden.api.md, "./testing" -> nestjs-warden-testing.api.md, ...
const entries = Object.entries(exports)
  .filter(([, target]) => typeof target === 'object' && target.import?.types)
  .map(([subpath, target]) => ({
    subpath,
    declarations: target.import.types,
    report: `${[
      name,
      ...subpath
        .replace(/^\.\/?/, '')
        .split('/')
        .filter(Boolean),
    ].join('-')}.api.md`,
  }));

let failed = 0;
for (const entry of entries) {
  const configObject = ExtractorConfig.loadFile(configPath);
  configObject.mainEntryPointFilePath = `<projectFolder>/${entry.declarations.replace(/^\.\//, '')}`;
  configObject.apiReport = { ...configObject.apiReport, reportFileName: entry.report };
  const config = ExtractorConfig.prepare({ configObject, configObjectFullPath: configPath, packageJsonFullPath: packageJsonPath });
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false, printApiReportDiff: !local });
  const label = `${name}${entry.subpath === '.' ? '' : entry.subpath.slice(1)}`;
  if (!result.succeeded) {
    failed += 1;
    console.error(
      result.apiReportChanged && !local
        ? `api: ${label}: the built API differs from api/${entry.report}; review the change and run npm run api:update`
        : `api: ${label}: ${result.errorCount} error(s), ${result.warningCount} warning(s)`,
    );
  } else {
    console.log(`api: ${label}: ${local && result.apiReportChanged ? `api/${entry.report} updated` : `matches api/${entry.report}`}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
