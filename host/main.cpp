// vitedit — locate, edit and prove edits of Vision Transformer classifiers.
//
// `vitedit <command> [options]`; each command lives in its own cmd_*.cpp.
#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "mpi_world.hpp"
#include "vitedit/abi.h"

namespace vitedit::cli {
int cmd_plugins(const std::vector<std::string>& args);
int cmd_predict(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_edit(const std::vector<std::string>& args);
int cmd_apply(const std::vector<std::string>& args);
int cmd_revert(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_meta_train(const std::vector<std::string>& args);
int cmd_bench_data(const std::vector<std::string>& args);
int cmd_perf(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"plugins", "list the backends, locators and editors found, and whether each can be used", cmd_plugins},
        {"predict", "classify images with a model", cmd_predict},
        {"train", "train a ViT classifier from scratch (AdamW, warm-up + cosine, seeded, resumable)", cmd_train},
        {"eval", "accuracy, per-class accuracy and confusion matrix of a model on a data set", cmd_eval},
        {"edit", "fix a model's mistake on given images (locate, then edit) and write the model or a patch", cmd_edit},
        {"apply", "apply an edit patch to the model it was made on", cmd_apply},
        {"revert", "take an edit patch off a patched model", cmd_revert},
        {"bench-data", "build the editing benchmark (failure groups, locality set, manifest) for a model", cmd_bench_data},
        {"bench", "score locators/editors on failure groups: success, generalization, locality", cmd_bench, true},
        {"meta-train", "meta-train the hypernetwork locator on CutMix pseudo-failures of a model's training images", cmd_meta_train, true},
        {"perf", "edit step and evaluation speed against the LibTorch reference approach and the arithmetic limit", cmd_perf},
    };
    return table;
}
}  // namespace vitedit::cli

static void usage(std::ostream& o) {
    o << "usage: vitedit <command> [options]   (vitedit <command> --help for its options)\n\ncommands:\n";
    for (const auto& c : vitedit::cli::commands()) o << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
}

static int run(int argc, char** argv);

int main(int argc, char** argv) {
    // OpenMP threads (oneDNN's) that sleep instead of spinning while they wait: on a machine
    // shared with other work, spinning threads make every op many times slower. Set before any
    // backend (and so libgomp) is loaded; a user's own setting wins.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    using vitedit::cli::World;
    World::init(&argc, &argv);
    return World::finish(run(argc, argv));
}

static int run(int argc, char** argv) {
    const vitedit::cli::World& world = vitedit::cli::World::get();
    if (argc < 2) {
        usage(std::cerr);
        return 2;
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(std::cout);
        return 0;
    }
    if (name == "--version") {
        std::cout << "vitedit 0.1.0 (ABI " << VITEDIT_ABI_MAJOR << "." << VITEDIT_ABI_MINOR << ")\n";
        return 0;
    }
    for (const auto& c : vitedit::cli::commands()) {
        if (name != c.name) continue;
        if (world.size() > 1 && !c.multi_rank) {
            if (world.root())
                std::cerr << "vitedit " << name << ": runs in one process; of the commands only bench and meta-train share "
                          << "their work across MPI ranks (this job has " << world.size() << ")\n";
            return 2;
        }
        try {
            return c.run(std::vector<std::string>(argv + 2, argv + argc));
        } catch (const vitedit::cli::UsageError& e) {
            std::cerr << "vitedit " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "vitedit " << name << ": " << (world.size() > 1 ? "rank " + std::to_string(world.rank()) + ": " : "")
                      << "error: " << e.what() << "\n";
            return 1;
        } catch (...) {
            std::cerr << "vitedit " << name << ": error: an unknown exception\n";
            return 1;
        }
    }
    std::cerr << "vitedit: unknown command '" << name << "'\n";
    usage(std::cerr);
    return 2;
}
