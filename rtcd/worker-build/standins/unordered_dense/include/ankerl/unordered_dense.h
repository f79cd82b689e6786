// Stand-in for <ankerl/unordered_dense.h>: the names the mediasoup worker
// uses (map, set, hash), backed by the standard unordered containers. Slower
// than the real thing on hot lookups but behaviourally the same for the
// worker, which never relies on iteration order or on unordered_dense-only
// members.
#ifndef MMRTCD_UNORDERED_DENSE_STANDIN_H
#define MMRTCD_UNORDERED_DENSE_STANDIN_H

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl
{
	namespace unordered_dense
	{
		template<class T, class Enable = void>
		struct hash
		{
			std::size_t operator()(const T& value) const noexcept(noexcept(std::hash<T>{}(value)))
			{
				return std::hash<T>{}(value);
			}
		};

		template<
		  class Key,
		  class T,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<std::pair<const Key, T>>>
		using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

		template<
		  class Key,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<Key>>
		using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
	} // namespace unordered_dense
} // namespace ankerl

#endif
