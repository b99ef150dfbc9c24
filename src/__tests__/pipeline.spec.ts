import { pipelineStages } from '../components/PromotionPipeline';
import type { ModelVault } from '../tokens';

function record(
  to: string,
  from: string | null,
  seq: number
): ModelVault.IBundlePromotion {
  return {
    bundle: 'a'.repeat(64),
    name: 'bert-release',
    version: '1.0.0',
    from,
    to,
    by: 'admin',
    at: 1700000000 + seq,
    seq,
    previous: seq > 1 ? 'b'.repeat(64) : null
  };
}

const ENVS = ['DEV', 'QA', 'PROD'];

describe('pipelineStages', () => {
  it('marks the first environment next before any promotion', () => {
    expect(pipelineStages(ENVS, []).map(s => s.state)).toEqual([
      'next',
      'pending',
      'pending'
    ]);
  });

  it('marks reached environments with their signed records', () => {
    const stages = pipelineStages(ENVS, [
      record('DEV', null, 1),
      record('QA', 'DEV', 2)
    ]);
    expect(stages.map(s => [s.name, s.state])).toEqual([
      ['DEV', 'done'],
      ['QA', 'current'],
      ['PROD', 'next']
    ]);
    expect(stages[1].record?.seq).toBe(2);
    expect(stages[2].record).toBeNull();
  });

  it('keeps an environment only a record names', () => {
    const stages = pipelineStages(['DEV'], [record('STAGING', null, 1)]);
    expect(stages.map(s => [s.name, s.state])).toEqual([
      ['DEV', 'done'],
      ['STAGING', 'current']
    ]);
  });
});
