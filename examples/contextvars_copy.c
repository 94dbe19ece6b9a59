/* A variable set inside a copied context stays unchanged outside.
 *
 *   my_var = contextvars.ContextVar('my_var', default='default_value')
 *
 *   def example_function():
 *       my_var.set('new_value')
 *       print(my_var.get())
 *
 *   with contextvars.copy_context():
 *       example_function()
 *
 *   print(my_var.get())
 */
#include <stdio.h>
#include <weft.h>

static weft_context_var *my_var;

static void *example_function(void *arg)
{
	weft_context_var_set(my_var, "new_value", NULL);
	void *value;
	weft_context_var_get(my_var, &value);
	printf("inside the copy:   %s\n", (const char *)value);
	return NULL;
}

int main(void)
{
	weft_context_var_new(&my_var, "my_var",
	                     &(weft_context_var_opts){.has_default = true, .default_value = "default_value"});

	/* `with copy_context():` -- enter a copy, run, exit. */
	weft_context *ctx;
	weft_context_copy_current(&ctx);
	weft_context_enter(ctx);
	example_function(NULL);
	weft_context_exit(ctx);

	void *value;
	weft_context_var_get(my_var, &value);
	printf("outside, unchanged: %s\n", (const char *)value);

	/* ctx.run(fn) does the same in one call; the copy kept its value. */
	weft_context_run(ctx, example_function, NULL, NULL);
	void *kept;
	weft_context_get(ctx, my_var, &kept);
	printf("the copy holds:     %s\n", (const char *)kept);

	weft_context_free(ctx);
	weft_context_var_free(my_var);
	return 0;
}
