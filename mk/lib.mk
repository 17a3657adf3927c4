# SPDX-License-Identifier: GPL-2.0-only
#
# libvtop (issue 3): the library, its installation, host tests and the
# register example. Included by the top Makefile, which exports TOP, BUILD,
# VERSION, VERSION_MAJOR and PREFIX.
#
#   make lib          build/lib/{libvtop.so.$(LIBVTOP_SOVERSION),libvtop.a,libvtop.pc}
#   make install      library, vtop.h, the uapi header, libvtop.pc
#                     (PREFIX, DESTDIR)
#   make host-check   host tests, plain and under ASan+UBSan
#   make examples     build/bin/vtop-example-register

.PHONY: lib install host-check examples
all: lib examples

CHECK_HOST := host-check
GUEST_BINS_TARGETS += lib examples

lib:
	$(MAKE) -C $(TOP)/libvtop

install: deps-base lib
	$(MAKE) -C $(TOP)/libvtop install

host-check: deps-base deps-abi lib
	$(MAKE) -C $(TOP)/selftests/host check

EXAMPLE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
	-I$(TOP)/include

examples: lib
	$(MAKE) -C $(TOP) $(BUILD)/bin/vtop-example-register

$(BUILD)/bin/vtop-example-register: $(TOP)/examples/register.c \
		$(TOP)/include/vtop.h $(TOP)/include/uapi/linux/vtop.h \
		$(BUILD)/lib/libvtop.so.$(LIBVTOP_SOVERSION)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) -o $@ $< -L$(BUILD)/lib -lvtop \
		-Wl,-rpath,'$$ORIGIN/../lib'
