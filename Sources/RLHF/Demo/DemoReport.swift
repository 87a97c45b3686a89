// DemoReport: report.html for the demo — the test-split results of every trained policy (PPO,
// GRPO, DPO) side by side: gain under the RM PPO and GRPO optimised and under the independent
// judge, KL to the SFT model, length, distinct-2, wall time; SVG plots of every stage's curves
// (no network) and test prompts answered by the SFT model and each policy. For the real-model
// recipe the baseline is the pretrained model instead of the SFT model.
import Foundation
import RunKit

enum DemoReport {
    static func series(_ history: [MetricsRecord], _ name: String, label: String) -> SVGLinePlot.Series? {
        let points = history.compactMap { r in r.scalars.first { $0.name == name }.map { (Double(r.step), $0.value) } }
        guard !points.isEmpty else { return nil }
        return SVGLinePlot.Series(name: label, x: points.map(\.0), y: points.map(\.1))
    }

    static func plot(_ title: String, x: String, y: String, _ s: [SVGLinePlot.Series?]) -> SVGLinePlot {
        SVGLinePlot(title: title, xLabel: x, yLabel: y, series: s.compactMap { $0 })
    }

    static func gain(_ sft: ScoreStats, _ ppo: ScoreStats) -> String {
        String(format: "%+.2f", (ppo.mean - sft.mean) / max(sft.std, 1e-9))
    }

    static func title(_ a: DemoAlgorithm) -> String { a.rawValue.uppercased() }

    static func write(_ r: DemoResult, config: DemoConfig, sft: TrainingSummary, rm: TrainingSummary, judge: TrainingSummary,
                      samples: [[String: Any]], seconds: Double, to url: URL) throws {
        var report = HTMLReport(title: "RLHF on human-rated movie-review snippets",
                                subtitle: "swift-rlhf demo, budget \(config.budget.rawValue), seed \(config.seed),"
                                    + " \(Int(seconds)) s on this machine")
        var intro = HTMLReport.Section("What ran")
        let n = r.splitSizes
        intro.paragraph("Data: the 10,605 movie-review snippets of Hutto & Gilbert's VADER study with their mean human sentiment rating"
            + " (-4..+4), cut by one seeded permutation into \(n.train) training, \(n.validation) validation and \(n.test) test snippets."
            + " Everything is trained on training snippets; every during-training evaluation and every setting chosen looked at"
            + " validation only; the numbers below are on the test split, which nothing trained or was tuned on.")
        let base = r.baseModel == nil ? "SFT" : "base"
        if let model = r.baseModel {
            let rc = config.real
            intro.paragraph("1. A byte-level BPE tokenizer (\(config.vocabSize) tokens) and a \(config.layers)-layer,"
                + " width-\(config.width) GPT trained from scratch on the training snippets: the trunk of two Bradley-Terry reward"
                + " models, on every pair of snippets whose ratings differ by at least 2 within rated groups of \(config.rmGroupSize):"
                + " the optimised RM on the first half of the training split (seed \(config.seed)), the judge on the other half"
                + " (seed \(config.judgeSeed)). 2. The pretrained chat model \(URL(fileURLWithPath: model).lastPathComponent) is"
                + " asked \"\(rc.instruction)\" with its answer opened by the first \(config.promptWords) words of a training snippet"
                + " (\(r.ppoPromptCount) distinct prompts); GRPO (\(rc.generations) responses per prompt, \(rc.iterations) iterations"
                + " of \(rc.promptsPerIteration) prompts, k3 KL to the base model with beta \(rc.beta), temperature \(rc.temperature))"
                + " trains LoRA adapters (r \(rc.peft.r) on \((rc.peft.targetModules ?? []).joined(separator: ", "))) against the"
                + " optimised RM, which scores the prompt words and the response through its own tokenizer. The judge never trains"
                + " anything. 3. The base model (adapters off) and the policy answer \(r.evalPromptCount) distinct test prompts, none"
                + " of which is a training prompt, with the same random stream; every response is scored by both reward models.")
        } else {
        intro.paragraph("1. A byte-level BPE tokenizer (\(config.vocabSize) tokens). 2. SFT: a \(config.layers)-layer,"
            + " width-\(config.width) GPT trained from scratch to write the training snippets. 3. Two Bradley-Terry reward models"
            + " from the SFT model, on every pair of snippets whose ratings differ by at least 2 within rated groups of"
            + " \(config.rmGroupSize): the optimised RM on the first half of the training split (seed \(config.seed)), and the judge"
            + " on the other half (seed \(config.judgeSeed)). 4. Policies from the SFT model: PPO (critic, KL penalty in the reward)"
            + " and GRPO (no critic, \(config.grpoGenerations) responses per prompt compared within their group, KL in the loss) continue"
            + " the first \(config.promptWords) words of training snippets (\(r.ppoPromptCount) distinct prompts), rewarded by the"
            + " optimised RM; DPO learns offline from the human-rated pairs that RM learnt from, with no reward model. No method sees"
            + " the judge. 5. Every model answers \(r.evalPromptCount) distinct test prompts, none of which is a training prompt;"
            + " every response is scored by both reward models.")
        }
        intro.stats([
            (r.baseModel == nil ? "SFT test loss (nats/token)" : "RM trunk (SFT) test loss (nats/token)", "\(fmt(r.sftTestLoss.before)) -> \(fmt(r.sftTestLoss.after))"),
            ("optimised RM: test pairwise accuracy",
             "\(fmt(r.rm.test.accuracy)) over all \(r.rm.test.pairs) test pairs with rating gap >= 2"),
            ("judge RM: test pairwise accuracy", "\(fmt(r.judge.test.accuracy)) over the same pairs"),
        ].map { (key: $0.0, value: $0.1) }, caption: "Test results of the shared stages")
        let header = ["model", "judge score (gain)", "optimised-RM score (gain)", "KL to \(base) (nats)", "length [min-max]",
                      "EOS rate", "distinct-2", "training wall time"]
        func row(_ name: String, _ e: DemoEvaluation, base: DemoEvaluation, seconds: Double?) -> [String] {
            [name, "\(fmt(e.judge.mean)) (\(gain(base.judge, e.judge)))", "\(fmt(e.rm.mean)) (\(gain(base.rm, e.rm)))",
             fmt(e.klToSFT), "\(fmt(e.meanLength)) [\(e.minLength)-\(e.maxLength)]", fmt(e.eosRate), fmt(e.distinct2),
             seconds.map { "\(Int($0)) s" } ?? "-"]
        }
        intro.table(header: header, rows: [row(base, r.sft, base: r.sft, seconds: nil)]
                    + r.policies.map { row(title($0.algorithm), $0.test, base: r.sft, seconds: $0.seconds) },
                    caption: "Every policy on \(r.evalPromptCount) test prompts. Gains are in \(base) standard deviations of the same"
                        + " score. The judge never trained any policy; the optimised RM was PPO's and GRPO's reward, and DPO learnt"
                        + " from the same human pairs it did")
        intro.table(header: header, rows: [row(base, r.sftValidation, base: r.sftValidation, seconds: nil)]
                    + r.policies.map { row(title($0.algorithm), $0.validation, base: r.sftValidation, seconds: $0.seconds) },
                    caption: "The same on validation prompts (what settings are chosen on; not a result). SFT validation loss"
                        + " \(fmt(r.sftValidationLoss.before)) -> \(fmt(r.sftValidationLoss.after)); validation pairwise accuracy,"
                        + " optimised RM / judge, \(fmt(r.rm.validation.accuracy)) / \(fmt(r.judge.validation.accuracy)) over"
                        + " \(r.rm.validation.pairs) pairs")
        report.sections.append(intro)

        var s1 = HTMLReport.Section("Supervised fine-tuning")
        s1.plot(plot("SFT loss", x: "optimizer step", y: "cross-entropy (nats/token)",
                     [series(sft.history, "train/loss", label: "train"), series(sft.history, "eval/loss", label: "validation")]))
        report.sections.append(s1)

        var s2 = HTMLReport.Section("Reward model")
        s2.plot(plot("Pairwise accuracy of both reward models", x: "optimizer step", y: "accuracy",
                     [series(rm.history, "train/accuracy", label: "RM train"), series(rm.history, "eval/accuracy", label: "RM validation"),
                      series(judge.history, "train/accuracy", label: "judge train"),
                      series(judge.history, "eval/accuracy", label: "judge validation")]))
        report.sections.append(s2)

        let online = r.policies.filter { $0.algorithm != .dpo }
        if !online.isEmpty {
            var s3 = HTMLReport.Section(online.map { title($0.algorithm) }.joined(separator: " and "))
            func curves(_ metric: String) -> [SVGLinePlot.Series?] { online.map { series($0.history, metric, label: title($0.algorithm)) } }
            s3.plot(plot("Mean RM score of rollouts", x: "iteration", y: "score", curves("ppo/score_mean")))
            s3.plot(plot("KL to the \(base) model per response", x: "iteration", y: "nats", curves("ppo/kl_mean")))
            s3.plot(plot("Policy entropy", x: "iteration", y: "nats/token", curves("ppo/entropy")))
            s3.plot(plot("Response length", x: "iteration", y: "tokens", curves("ppo/response_length_mean")))
            report.sections.append(s3)
        }
        if let dpo = r.policy(.dpo) {
            var s4 = HTMLReport.Section("DPO")
            s4.plot(plot("DPO loss", x: "optimizer step", y: "loss", [series(dpo.history, "train/loss", label: "train"),
                                                                    series(dpo.history, "eval/loss", label: "validation")]))
            s4.plot(plot("Implicit reward accuracy", x: "optimizer step", y: "accuracy",
                         [series(dpo.history, "rewards/accuracies", label: "train"),
                          series(dpo.history, "eval/rewards/accuracies", label: "validation")]))
            report.sections.append(s4)
        }

        var s5 = HTMLReport.Section("Test prompts")
        let names = r.policies.map(\.algorithm.rawValue)
        s5.table(header: ["prompt", "\(base) response (RM / judge)"] + r.policies.map { "\(title($0.algorithm)) response (RM / judge)" },
                 rows: samples.prefix(40).map { row in
            func cell(_ k: String) -> String {
                "\(row["\(k)_response"] as! String) (\(fmt(row["\(k)_score"] as! Double)) / \(fmt(row["\(k)_judge_score"] as! Double)))"
            }
            return [row["prompt"] as! String, cell("sft")] + names.map(cell)
        }, caption: "first 40 of \(samples.count) test prompts; all in samples.jsonl. RM: the reward model PPO and GRPO optimised;"
            + " judge: the reward model trained on the other half of the training split, never used in training")
        report.sections.append(s5)
        try report.write(to: url)
    }
}
