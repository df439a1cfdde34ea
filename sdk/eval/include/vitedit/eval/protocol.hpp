// vitedit evaluation — benchmark protocols: named sets of ordinary `vitedit bench` options.
//
// A protocol is nothing but options: `bench --protocol paper` behaves exactly as if its options
// were typed, and an option given beside it wins over the protocol's. The methods of a run
// (--locator, --baseline) are one choice: giving either replaces the protocol's methods.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace vitedit::eval {

struct ProtocolOption {
    std::string key;    // a bench option's name, without "--"
    std::string value;  // repeatable options appear once per value
};

struct Protocol {
    std::string name;
    std::string summary;  // one line: what it is for
    std::vector<ProtocolOption> options;
};

// Every protocol, the recommended one (default_protocol()) first.
const std::vector<Protocol>& protocols();
const char* default_protocol();
// Throws std::invalid_argument naming the known protocols.
const Protocol& find_protocol(const std::string& name);

// The protocol's options that the explicitly given option names do not override, in order.
std::vector<ProtocolOption> protocol_defaults(const Protocol& p, const std::set<std::string>& given);

// The override group an option belongs to (options of one group are replaced together):
// "methods" for locator and baseline, else the key itself.
std::string override_group(const std::string& key);

}  // namespace vitedit::eval
