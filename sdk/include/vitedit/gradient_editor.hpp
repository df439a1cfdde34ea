// vitedit — the masked gradient-descent loop every built-in editor shares (DESIGN.md §2.3).
//
// An editor derived from GradientEditor supplies only its update rule; the loop — gradients of
// the edit loss on the sites, the early stop once every edit image is right and the loss is at
// most stop_loss, the masks — is here. Options: lr, steps (max), stop_loss (0 disables the early
// stop).
#pragma once

#include <cmath>
#include <deque>
#include <vector>

#include "vitedit/plugin_author.hpp"

namespace vitedit::author {

class GradientEditor : public Editor {
public:
    GradientEditor(Options& o, double default_lr)
        : lr_(static_cast<float>(o.number("lr", default_lr, 0.0, 10.0))),
          steps_(static_cast<int>(o.integer("steps", 100, 0, 1000000))),
          stop_loss_(static_cast<float>(o.number("stop_loss", 0.01, 0.0, 1e9))) {}

    ve_edit_report edit(Session& s) override {
        // Optimizer state lives for one edit only: it belongs to the session's backend, which may
        // be gone before this plugin instance is.
        struct Release {
            std::deque<std::vector<Tensor>>& state;
            ~Release() { state.clear(); }
        } release{state_};
        begin(s);
        ve_edit_report r{sizeof(ve_edit_report), 0, 0.0f, 0};
        for (int step = 0; step < steps_; ++step) {
            ve_edit_eval e = s.evaluate(true);
            if (!std::isfinite(e.loss)) throw std::runtime_error("the edit loss became non-finite at step " + std::to_string(step));
            if (stop_loss_ > 0 && e.num_correct == e.num_images && e.loss <= stop_loss_) break;
            for (int i = 0; i < s.num_sites(); ++i) {
                const ve_site site = s.site(i);
                Tensor mask = s.mask(i);
                update(s, i, site, s.weight(i), s.grad(i), mask, site.unit == VE_UNIT_COL ? VE_MASK_COLS : VE_MASK_ROWS, step);
            }
            ++r.steps;
        }
        ve_edit_eval e = s.evaluate(false);
        r.loss = e.loss;
        r.success = e.num_correct == e.num_images ? 1 : 0;
        return r;
    }

protected:
    // Called once per edit before the first step (allocate optimizer state here).
    virtual void begin(Session&) {}
    // One update of site i's weight with its gradient and mask; `step` counts from 0.
    virtual void update(Session& s, int site_index, const ve_site& site, const Tensor& w, const Tensor& g,
                        const Tensor& mask, int axis, int step) = 0;

    // Optimizer state for this edit: a zero tensor shaped like each site's weight. Valid until
    // the edit ends.
    std::vector<Tensor>& new_state(Session& s) {
        state_.emplace_back();
        for (int i = 0; i < s.num_sites(); ++i) state_.back().push_back(s.backend().zeros(s.weight(i).shape()));
        return state_.back();
    }

    float lr_;
    int steps_;
    float stop_loss_;

private:
    std::deque<std::vector<Tensor>> state_;
};

}  // namespace vitedit::author
