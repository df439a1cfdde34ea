// vitedit evaluation — the shipped benchmark protocols.
#include "vitedit/eval/protocol.hpp"

#include <stdexcept>

namespace vitedit::eval {

namespace {

// The FT baselines' penalty weights and the locators' budgets of the paper's reference setting.
constexpr const char* kPaperPenalties = "0.1,0.05,0.025,0.01,0.005,0.001,0";

std::vector<Protocol> make_protocols() {
    Protocol recommended{
        "default",
        "the recommended regime: the default editor (RMSprop lr 1e-4, <= 100 steps, stop at CE <= 0.01), budgets 2-20 %, "
        "the learned and training-free locators and the paper's FT baselines, 3 edits per group",
        {{"editor", "rmsprop:lr=1e-4,steps=100,stop_loss=0.01"},
         {"locator", "hypernet"},
         {"locator", "saliency"},
         {"locator", "random"},
         {"baseline", "ft-l1"},
         {"baseline", "ft-l2"},
         {"sweep", "sparsity=0.02,0.05,0.1,0.2"},
         {"penalty", kPaperPenalties},
         {"max-edits-per-group", "3"}}};
    // The reference lr 2e-5 was set for ViT-B/16. On the bundled Fashion-MNIST ViT it fixes too
    // few failures within 100 steps (measured, 1 edit per group: saliency at 5 % SR 0.36, FT-L2 at
    // c = 0 SR 0.91); lr 5e-4 fixes them (saliency 1.00, FT-L2 at c = 0.1 1.00; random masks
    // at 5 % stay at 0.76, as random masks do). `paper` is the protocol at that lr,
    // `paper-reference` the reference code's lr verbatim (the one for ViT-B/16-sized models).
    auto paper_at = [](const std::string& name, const std::string& lr, const std::string& why) {
        return Protocol{
            name,
            "the paper's protocol" + why + ": RMSprop lr " + lr + ", <= 100 steps, stop once every edit image is right and "
            "CE <= 0.01; hypernet, saliency, random at keep fractions 0.05-0.75; FT-L1/L2 on every site neuron at penalties "
            "0.1..0; 3 edits per group",
            {{"editor", "rmsprop:lr=" + lr + ",steps=100,stop_loss=0.01"},
             {"locator", "hypernet"},
             {"locator", "saliency"},
             {"locator", "random"},
             {"baseline", "ft-l1"},
             {"baseline", "ft-l2"},
             {"sweep", "sparsity=0.05,0.1,0.25,0.5,0.75"},
             {"penalty", kPaperPenalties},
             {"max-edits-per-group", "3"}}};
    };
    const Protocol paper = paper_at("paper", "5e-4", " at the lr that fixes small models' failures within 100 steps (the reference "
                                    "code's 2e-5 is for ViT-B/16: --protocol paper-reference)");
    const Protocol reference = paper_at("paper-reference", "2e-5", " verbatim, with the reference code's lr for ViT-B/16");
    Protocol quick{
        "quick",
        "the most local edit that fixes the image: RMSprop lr 3e-4, stop at the first correct prediction "
        "(<= 200 steps), budgets 1-10 %, one edit per group, no baselines",
        {{"editor", "rmsprop:lr=3e-4,steps=200,stop_loss=10"},
         {"locator", "all"},
         {"locator", "random"},
         {"locator", "saliency"},
         {"locator", "hypernet"},
         {"sweep", "sparsity=0.01,0.02,0.05,0.1"},
         {"max-edits-per-group", "1"}}};
    Protocol none{"none", "no preset: only the options given (one method: the model's default locator)", {}};
    return {recommended, paper, reference, quick, none};
}

}  // namespace

const std::vector<Protocol>& protocols() {
    static const std::vector<Protocol> all = make_protocols();
    return all;
}

const char* default_protocol() { return "default"; }

const Protocol& find_protocol(const std::string& name) {
    std::string known;
    for (const auto& p : protocols()) {
        if (p.name == name) return p;
        known += (known.empty() ? "" : ", ") + p.name;
    }
    throw std::invalid_argument("unknown protocol '" + name + "' (known: " + known + ")");
}

std::string override_group(const std::string& key) {
    return key == "locator" || key == "baseline" ? std::string("methods") : key;
}

std::vector<ProtocolOption> protocol_defaults(const Protocol& p, const std::set<std::string>& given) {
    std::set<std::string> overridden;
    for (const auto& k : given) overridden.insert(override_group(k));
    std::vector<ProtocolOption> out;
    for (const auto& o : p.options)
        if (!overridden.count(override_group(o.key))) out.push_back(o);
    return out;
}

}  // namespace vitedit::eval
